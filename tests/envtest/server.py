"""A real kube-apiserver and etcd on loopback (the envtest tier), no kubelet, no controllers.

The binaries come from ``KUBEBUILDER_ASSETS`` (what ``make envtest-assets`` builds, or
what setup-envtest installed). Authentication is by client certificates from a CA made
here, and by ServiceAccount tokens; authorization is RBAC, as in a real cluster.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

__all__ = ["ApiServer", "assets", "free_port", "why_unavailable", "write_tls"]

ASSETS_VARIABLE = "KUBEBUILDER_ASSETS"
DEFAULT_ASSETS = Path.home() / ".cache" / "envwake" / "envtest" / "k8s-1.34.4-etcd-3.6.4"


def assets() -> Path | None:
    """Where kube-apiserver and etcd are, or None."""
    configured = os.environ.get(ASSETS_VARIABLE)
    for directory in ([Path(configured)] if configured else []) + [DEFAULT_ASSETS]:
        if all((directory / binary).is_file() for binary in ("kube-apiserver", "etcd")):
            return directory
    return None


def why_unavailable() -> str | None:
    if assets() is not None:
        return None
    where = os.environ.get(ASSETS_VARIABLE) or str(DEFAULT_ASSETS)
    if shutil.which("go") is None:
        return f"no kube-apiserver/etcd in {where} and no Go to build them (make envtest-assets)"
    return f"no kube-apiserver/etcd in {where}: run `make envtest-assets` (needs Go)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _certificate(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Name, rsa.RSAPrivateKey] | None = None,
    *,
    ca: bool = False,
    ip: str | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(ip)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _name(common: str, organization: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if organization:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(parts)


def write_tls(directory: Path, common_name: str) -> None:
    """A CA and a certificate it signed for 127.0.0.1, as ``ca.crt``, ``tls.crt`` and
    ``tls.key`` (the layout cert-manager and KEDA use)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_name = _key(), _name(f"{common_name}-ca")
    ca = _certificate(ca_name, ca_key, ca=True)
    key = _key()
    serving = _certificate(_name(common_name), key, (ca_name, ca_key), ip="127.0.0.1")
    (directory / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "tls.crt").write_bytes(serving.public_bytes(serialization.Encoding.PEM))
    (directory / "tls.key").write_bytes(_pem_key(key))


@dataclass
class ApiServer:
    """``with ApiServer() as api:`` then ``api.url``, ``api.kubeconfig(...)``."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="envtest-")))
    url: str = ""
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __enter__(self) -> ApiServer:
        binaries = assets()
        if binaries is None:
            raise RuntimeError(why_unavailable())
        try:
            self._start(binaries)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start(self, binaries: Path) -> None:
        certs = self.root / "certs"
        certs.mkdir(parents=True)
        ca_key = _key()
        ca_name = _name("envtest-ca")
        ca = _certificate(ca_name, ca_key, ca=True)
        (certs / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        serving_key = _key()
        serving = _certificate(
            _name("kube-apiserver"), serving_key, (ca_name, ca_key), ip="127.0.0.1"
        )
        (certs / "serving.crt").write_bytes(serving.public_bytes(serialization.Encoding.PEM))
        (certs / "serving.key").write_bytes(_pem_key(serving_key))
        admin_key = _key()
        admin = _certificate(_name("envtest-admin", "system:masters"), admin_key, (ca_name, ca_key))
        (certs / "admin.crt").write_bytes(admin.public_bytes(serialization.Encoding.PEM))
        (certs / "admin.key").write_bytes(_pem_key(admin_key))
        signing = _key()
        (certs / "sa.key").write_bytes(_pem_key(signing))
        (certs / "sa.pub").write_bytes(
            signing.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        policy = self.root / "audit-policy.yaml"
        policy.write_text(
            "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Metadata\n"
        )
        etcd_port, peer_port, port = free_port(), free_port(), free_port()
        logs = self.root / "logs"
        logs.mkdir()
        self._spawn(
            [
                str(binaries / "etcd"),
                f"--data-dir={self.root / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
            logs / "etcd.log",
        )
        self._spawn(
            [
                str(binaries / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--tls-cert-file={certs / 'serving.crt'}",
                f"--tls-private-key-file={certs / 'serving.key'}",
                f"--client-ca-file={certs / 'ca.crt'}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={certs / 'sa.pub'}",
                f"--service-account-signing-key-file={certs / 'sa.key'}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--disable-admission-plugins=ServiceAccount",
                f"--audit-policy-file={policy}",
                f"--audit-log-path={self.audit_log}",
                "--v=0",
            ],
            logs / "kube-apiserver.log",
        )
        self.url = f"https://127.0.0.1:{port}"
        self._wait_ready(logs / "kube-apiserver.log")

    def _spawn(self, argv: list[str], log: Path) -> None:
        with log.open("wb") as out:
            self._processes.append(
                subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.root)
            )

    def _wait_ready(self, log: Path) -> None:
        context = self.ssl_context()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            for process in self._processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args[0]} exited: {log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", context=context, timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"kube-apiserver not ready in 90 s: {log.read_text()[-3000:]}")

    @property
    def processes(self) -> list[subprocess.Popen[bytes]]:
        """etcd and kube-apiserver, while they run."""
        return list(self._processes)

    @property
    def audit_log(self) -> Path:
        return self.root / "logs" / "audit.log"

    def audit_mark(self) -> int:
        """Where the audit log is now (to read only what follows)."""
        return len(self.audit_log.read_text().splitlines())

    def requests_by(self, username: str, *, since: int = 0) -> list[dict[str, Any]]:
        """Every finished request of ``username``, from the API server's audit log."""
        events = []
        for line in self.audit_log.read_text().splitlines()[since:]:
            event = json.loads(line)
            if event.get("stage") == "ResponseComplete" and event["user"]["username"] == username:
                events.append(event)
        return events

    def stop(self) -> None:
        for process in reversed(self._processes):
            process.terminate()
        for process in self._processes:
            try:  # kube-apiserver drains for ~15 s on SIGTERM: nothing here needs that
                process.wait(2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- clients -------------------------------------------------------------------------------

    def ssl_context(self, *, as_admin: bool = True) -> ssl.SSLContext:
        certs = self.root / "certs"
        context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        if as_admin:
            context.load_cert_chain(str(certs / "admin.crt"), str(certs / "admin.key"))
        return context

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> tuple[int, Any]:
        """One request, as the admin (client certificate) or with a bearer token."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Accept", accept)
        if data is not None:
            request.add_header("Content-Type", content_type)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        context = self.ssl_context(as_admin=token is None)
        try:
            with urllib.request.urlopen(request, context=context, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def token_for(self, namespace: str, account: str) -> str:
        """A token of ServiceAccount ``namespace/account`` (TokenRequest, one hour)."""
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token"
        status, answer = self.request(
            "POST",
            path,
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
        )
        assert status == 201, answer
        return str(answer["status"]["token"])

    def kubeconfig(
        self, path: Path, *, token: str | None = None, namespace: str = "default"
    ) -> Path:
        certs = self.root / "certs"

        def b64(name: str) -> str:
            return base64.b64encode((certs / name).read_bytes()).decode()

        user = (
            {"token": token}
            if token
            else {"client-certificate-data": b64("admin.crt"), "client-key-data": b64("admin.key")}
        )
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "envtest",
                    "cluster": {"server": self.url, "certificate-authority-data": b64("ca.crt")},
                }
            ],
            "users": [{"name": "user", "user": user}],
            "contexts": [
                {
                    "name": "envtest",
                    "context": {"cluster": "envtest", "user": "user", "namespace": namespace},
                }
            ],
            "current-context": "envtest",
        }
        path.write_text(json.dumps(config))
        return path

    # -- set-up --------------------------------------------------------------------------------

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply as the admin (creates or updates)."""
        api_version, kind = obj["apiVersion"], obj["kind"]
        plural = _PLURALS[kind]
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        namespace = obj["metadata"].get("namespace")
        where = f"/namespaces/{namespace}" if namespace else ""
        path = f"{prefix}{where}/{plural}/{obj['metadata']['name']}"
        status, answer = self.request(
            "PATCH",
            f"{path}?fieldManager=envtest&force=true",
            obj,
            content_type="application/apply-patch+yaml",
        )
        if status not in (200, 201):
            raise RuntimeError(f"applying {kind} {obj['metadata']['name']}: {answer}")
        return dict(answer)

    def install_crds(self) -> None:
        """The EnvironmentWake CRD, and the ScaledObject, Kustomization and GitRepository
        CRDs the operator reads and annotates (schemaless stand-ins: only their served
        names matter here)."""
        import yaml

        root = Path(__file__).parents[2]
        crds = [yaml.safe_load((root / "crds" / "environmentwake.yaml").read_text())]
        for group, kind, plural in (
            ("keda.sh", "ScaledObject", "scaledobjects"),
            ("kustomize.toolkit.fluxcd.io", "Kustomization", "kustomizations"),
            ("source.toolkit.fluxcd.io", "GitRepository", "gitrepositories"),
        ):
            version = "v1alpha1" if group == "keda.sh" else "v1"
            crds.append(_schemaless_crd(group, version, kind, plural))
        for crd in crds:
            self.apply(crd)
        for crd in crds:
            self.wait_established(crd["metadata"]["name"])

    def wait_established(self, name: str) -> None:
        deadline = time.monotonic() + 30
        path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
        while time.monotonic() < deadline:
            _, crd = self.request("GET", path)
            conditions = (crd.get("status") or {}).get("conditions") or []
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                return
            time.sleep(0.1)
        raise RuntimeError(f"CRD {name} never became Established")


_PLURALS = {
    "CustomResourceDefinition": "customresourcedefinitions",
    "Namespace": "namespaces",
    "ServiceAccount": "serviceaccounts",
    "ClusterRole": "clusterroles",
    "ClusterRoleBinding": "clusterrolebindings",
    "Role": "roles",
    "RoleBinding": "rolebindings",
    "ConfigMap": "configmaps",
    "Deployment": "deployments",
    "Service": "services",
    "EnvironmentWake": "environmentwakes",
    "Node": "nodes",
    "Secret": "secrets",
    "GitRepository": "gitrepositories",
    "Kustomization": "kustomizations",
    "ScaledObject": "scaledobjects",
}


def _schemaless_crd(group: str, version: str, kind: str, plural: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }
