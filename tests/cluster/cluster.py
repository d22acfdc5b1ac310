"""A GitOps cluster on loopback (the cluster tier): the envtest tier's kube-apiserver and
etcd, plus kube-controller-manager, kube-scheduler, kwok (one fake node whose pods turn
Running and Ready), Flux's source-controller and kustomize-controller, and the KEDA
operator, each the program its project ships, built by ``make cluster-assets`` from the
modules pinned in tests/cluster/modules/. No kubelet, no containers: kwok plays the
node, so a Deployment's pods become Ready as a kubelet would report them.

``with RealCluster() as cluster:`` then ``cluster.api`` (tests/envtest/server.py's
``ApiServer``: requests, kubeconfigs, tokens, the audit log) and ``cluster.gitops(...)``
to point Flux at a repository.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml

from tests.envtest.server import ApiServer, free_port, write_tls

__all__ = [
    "PROGRAMS",
    "RealCluster",
    "cluster_assets",
    "conditions",
    "eventually",
    "why_unavailable",
]

ASSETS_VARIABLE = "ENVWAKE_CLUSTER_ASSETS"
CACHE = Path.home() / ".cache" / "envwake" / "cluster"
PROGRAMS = (
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "source-controller",
    "kustomize-controller",
    "keda-operator",
    "cron-oracle",
)
ROOT = Path(__file__).parents[2]
FLUX_NAMESPACE = "flux-system"
NODE = "kwok-node-0"
T = TypeVar("T")


def _complete(directory: Path) -> bool:
    return (directory / "manifests").is_dir() and all(
        (directory / program).is_file() for program in PROGRAMS
    )


def cluster_assets() -> Path | None:
    """Where the tier's programs are: ``ENVWAKE_CLUSTER_ASSETS`` (make sets it), else the
    newest complete build in ~/.cache/envwake/cluster/; None when there is none."""
    configured = os.environ.get(ASSETS_VARIABLE)
    if configured:
        return Path(configured) if _complete(Path(configured)) else None
    builds = sorted(CACHE.glob("*/"), key=lambda d: d.stat().st_mtime, reverse=True)
    return next((d for d in builds if _complete(d)), None)


def why_unavailable() -> str | None:
    if cluster_assets() is not None:
        return None
    where = os.environ.get(ASSETS_VARIABLE) or str(CACHE)
    if shutil.which("go") is None:
        return f"no cluster programs in {where} and no Go to build them (make cluster-assets)"
    return f"no cluster programs in {where}: run `make cluster-assets` (needs Go, ~20 min cold)"


def eventually(read: Callable[[], T], done: Callable[[T], bool], *, within: float, what: str) -> T:
    """``read()`` until ``done`` holds of what it returned (every 0.1 s); what it read
    last is in the failure. Real controllers run in real time: ``within`` is a bound for
    a broken run, far above what a working one takes."""
    deadline = time.monotonic() + within
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {within:.0f}s; last seen: {value!r}")
        time.sleep(0.1)


class RealCluster:
    def __init__(self, assets: Path | None = None) -> None:
        found = assets or cluster_assets()
        if found is None:
            raise RuntimeError(why_unavailable())
        self.assets = found
        self.api = ApiServer()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.started_in = 0.0  # seconds from nothing to a Ready node and ready controllers

    def __enter__(self) -> RealCluster:
        began = time.monotonic()
        self.api.__enter__()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root(self) -> Path:
        return self.api.root / "cluster"

    # -- start ---------------------------------------------------------------------------------

    def _start(self) -> None:
        self.root.mkdir()
        (self.root / "logs").mkdir()
        self.admin_kubeconfig = self.api.kubeconfig(self.root / "admin.kubeconfig")
        self._install_crds()
        for namespace in (FLUX_NAMESPACE, "keda"):
            self.api.apply(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            )
        certs, kubeconfig = self.api.root / "certs", str(self.admin_kubeconfig)
        as_client = [
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
        ]
        self._spawn(
            "kube-controller-manager",
            *as_client,
            f"--secure-port={free_port()}",
            "--controllers=*",
            "--use-service-account-credentials=false",
            f"--service-account-private-key-file={certs / 'sa.key'}",
            f"--root-ca-file={certs / 'ca.crt'}",
        )
        self._spawn("kube-scheduler", *as_client, f"--secure-port={free_port()}")
        self._start_kwok()
        health: dict[str, str] = {}
        for controller, extra in (
            ("source-controller", self._storage_flags()),
            ("kustomize-controller", []),
        ):
            port = free_port()
            health[controller] = f"http://127.0.0.1:{port}/readyz"
            self._spawn(  # (Flux's controllers take the kubeconfig from KUBECONFIG only)
                controller,
                f"--metrics-addr=127.0.0.1:{free_port()}",
                f"--health-addr=127.0.0.1:{port}",
                "--events-addr=",
                "--concurrent=4",
                *extra,
                env={"RUNTIME_NAMESPACE": FLUX_NAMESPACE},
            )
        keda_certs = self.root / "keda-certs"
        write_tls(keda_certs, "keda-operator")
        port = free_port()
        health["keda-operator"] = f"http://127.0.0.1:{port}/readyz"
        self._spawn(
            "keda-operator",
            f"--kubeconfig={kubeconfig}",
            f"--metrics-bind-address=127.0.0.1:{free_port()}",
            f"--health-probe-bind-address=127.0.0.1:{port}",
            f"--metrics-service-bind-address=127.0.0.1:{free_port()}",
            "--enable-cert-rotation=false",
            f"--cert-dir={keda_certs}",
            f"--ca-dir={keda_certs}",
            "--zap-log-level=info",
            env={
                "WATCH_NAMESPACE": "",
                "POD_NAMESPACE": "keda",
                "KEDA_CLUSTER_OBJECT_NAMESPACE": "keda",
                "KEDA_HTTP_DEFAULT_TIMEOUT": "3000",
            },
        )
        try:
            eventually(self._node_ready, bool, within=60, what=f"node {NODE} Ready (kwok)")
            for controller, url in health.items():
                eventually(lambda u=url: _answers(u), bool, within=60, what=f"{controller} ready")  # type: ignore[misc]
        except AssertionError as exc:
            raise RuntimeError("\n".join([str(exc), *self.exited()])) from None

    def _install_crds(self) -> None:
        crds = [yaml.safe_load((ROOT / "crds" / "environmentwake.yaml").read_text())]
        for path in sorted((self.assets / "manifests" / "crds").glob("*.yaml")):
            crds += [d for d in yaml.safe_load_all(path.read_text()) if d]
        for crd in crds:
            self.api.apply(crd)
        for crd in crds:
            self.api.wait_established(crd["metadata"]["name"])

    def _storage_flags(self) -> list[str]:
        port = free_port()
        (self.root / "flux-storage").mkdir()
        return [
            f"--storage-path={self.root / 'flux-storage'}",
            f"--storage-addr=127.0.0.1:{port}",
            f"--storage-adv-addr=127.0.0.1:{port}",
        ]

    def _start_kwok(self) -> None:
        options = {
            "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
            "kind": "KwokConfiguration",
            "options": {
                "nodeLeaseDurationSeconds": 40,
                "nodeLeaseParallelism": 4,
                "podPlayStageParallelism": 4,
                "nodePlayStageParallelism": 4,
            },
        }
        stages = sorted((self.assets / "manifests" / "kwok-stages").glob("*.yaml"))
        config = self.root / "kwok.yaml"
        config.write_text(
            "\n---\n".join([yaml.safe_dump(options)] + [p.read_text() for p in stages])
        )
        port = free_port()
        self._spawn(
            "kwok",
            f"--kubeconfig={self.admin_kubeconfig}",
            f"--config={config}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--node-ip=127.0.0.1",
            f"--node-port={port}",
            f"--server-address=127.0.0.1:{port}",
        )
        capacity = {"cpu": "32", "memory": "256Gi", "pods": "110"}
        self.api.apply(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": NODE,
                    "annotations": {"kwok.x-k8s.io/node": "fake"},
                    "labels": {"kubernetes.io/hostname": NODE, "type": "kwok"},
                },
                "status": {"allocatable": capacity, "capacity": capacity},
            }
        )

    def _node_ready(self) -> bool:
        code, node = self.api.request("GET", f"/api/v1/nodes/{NODE}")
        conditions = ((node or {}).get("status") or {}).get("conditions") or []
        return code == 200 and any(
            c["type"] == "Ready" and c["status"] == "True" for c in conditions
        )

    def _spawn(self, program: str, *flags: str, env: dict[str, str] | None = None) -> None:
        log = self.root / "logs" / f"{program}.log"
        with log.open("wb") as out:
            self.processes[program] = subprocess.Popen(
                [str(self.assets / program), *flags],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env={**os.environ, "KUBECONFIG": str(self.admin_kubeconfig), **(env or {})},
            )

    # -- use -----------------------------------------------------------------------------------

    def gitops(
        self,
        name: str,
        url: str,
        token: str,
        *,
        branch: str,
        path: str = "./",
        interval: str = "10m",
        target_namespace: str | None = None,
    ) -> None:
        """A GitRepository reading ``url`` (basic auth with ``token``, as Flux reads
        GitHub with a token) and a Kustomization applying ``path`` of it, both called
        ``name`` in flux-system. The interval is long: what applies within seconds was
        asked for."""
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"{name}-git", "namespace": FLUX_NAMESPACE},
            "type": "Opaque",
            "data": {
                "username": base64.b64encode(b"x-access-token").decode(),
                "password": base64.b64encode(token.encode()).decode(),
            },
        }
        source = {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": FLUX_NAMESPACE},
            "spec": {
                "url": url,
                "ref": {"branch": branch},
                "interval": interval,
                "timeout": "20s",
                "secretRef": {"name": f"{name}-git"},
            },
        }
        spec: dict[str, Any] = {
            "interval": interval,
            "retryInterval": interval,
            "path": path,
            "prune": True,
            "timeout": "30s",
            "sourceRef": {"kind": "GitRepository", "name": name},
        }
        if target_namespace:
            spec["targetNamespace"] = target_namespace
        kustomization = {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": FLUX_NAMESPACE},
            "spec": spec,
        }
        for obj in (secret, source, kustomization):
            self.api.apply(obj)

    def get(self, path: str) -> dict[str, Any]:
        """The object at ``path`` (empty when there is none)."""
        code, obj = self.api.request("GET", path)
        return dict(obj) if code == 200 and obj else {}

    def kustomization(self, name: str) -> dict[str, Any]:
        return self.get(
            f"/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{FLUX_NAMESPACE}/kustomizations/{name}"
        )

    def scaled_object(self, namespace: str, name: str) -> dict[str, Any]:
        return self.get(f"/apis/keda.sh/v1alpha1/namespaces/{namespace}/scaledobjects/{name}")

    def deployment(self, namespace: str, name: str) -> dict[str, Any]:
        return self.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")

    def ready_pods(self, namespace: str, name: str) -> int:
        """The Deployment's ready replicas (absent at 0, as the API leaves it)."""
        return int((self.deployment(namespace, name).get("status") or {}).get("readyReplicas", 0))

    def memory_mib(self) -> dict[str, float]:
        """Resident memory of each program now, from /proc (MiB)."""
        every = {Path(str(p.args[0])).name: _rss_mib(p.pid) for p in self.api.processes}
        for program, process in self.processes.items():
            every[program] = _rss_mib(process.pid)
        return every

    def log_tail(self, program: str, lines: int = 40) -> str:
        text = (self.root / "logs" / f"{program}.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def exited(self) -> Iterator[str]:
        for program, process in self.processes.items():
            if process.poll() is not None:
                yield f"{program} exited {process.returncode}: {self.log_tail(program, 15)}"

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        self.api.stop()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def conditions(obj: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    """type → (status, reason, message) of an object's status conditions."""
    return {
        c["type"]: (c.get("status", ""), c.get("reason", ""), c.get("message", ""))
        for c in (obj.get("status") or {}).get("conditions") or []
    }
