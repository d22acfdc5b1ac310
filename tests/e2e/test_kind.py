"""The operator from its image in a kind cluster, with Flux and KEDA, driven by kubectl.

The GitHub and AWS emulators run on this host, bound to the kind network's gateway so
that Flux (source-controller) and the operator's pod can reach them. Needs Docker, kind,
kubectl and network access to Flux's and KEDA's release manifests; run it with
``make e2e``. Elsewhere it is skipped, saying why.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from envwake.configdir import load_config_dir
from envwake.sandbox.aws import AwsEmulator
from envwake.sandbox.github import CiJob, GitHubEmulator
from envwake.sandbox.repository import flux_files

ROOT = Path(__file__).parents[2]
CLUSTER = "envwake-e2e"
FLUX = "https://github.com/fluxcd/flux2/releases/download/v2.4.0/install.yaml"
KEDA = "https://github.com/kedacore/keda/releases/download/v2.16.0/keda-2.16.0.yaml"


def _why_not() -> str | None:
    for tool in ("docker", "kind", "kubectl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        return "no Docker engine answers (docker info failed)"
    if os.environ.get("ENVWAKE_E2E") != "1":
        return "opt-in: it builds an image and a kind cluster; run `make e2e`"
    return None


REASON = _why_not()
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(REASON is not None, reason=f"kind end-to-end: {REASON}"),
]


def sh(*argv: str, stdin: str | None = None) -> str:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed: {done.stderr[-2000:]}")
    return done.stdout


def kubectl(*argv: str, stdin: str | None = None) -> str:
    return sh("kubectl", "--context", f"kind-{CLUSTER}", *argv, stdin=stdin)


@pytest.fixture(scope="module")
def kind() -> Iterator[str]:
    """A kind cluster with Flux and KEDA; yields the host address pods reach us at."""
    sh("kind", "create", "cluster", "--name", CLUSTER, "--wait", "120s")
    try:
        network = json.loads(sh("docker", "network", "inspect", "kind"))[0]
        gateway = next(
            c["Gateway"] for c in network["IPAM"]["Config"] if ":" not in c.get("Gateway", ":")
        )
        sh("docker", "build", "-t", "envwake:dev", str(ROOT))
        sh("kind", "load", "docker-image", "envwake:dev", "--name", CLUSTER)
        kubectl("apply", "-f", FLUX)
        kubectl("apply", "--server-side", "-f", KEDA)
        for deployment in ("source-controller", "kustomize-controller"):
            kubectl("-n", "flux-system", "rollout", "status", f"deploy/{deployment}")
        kubectl("-n", "keda", "rollout", "status", "deploy/keda-operator")
        yield gateway
    finally:
        subprocess.run(["kind", "delete", "cluster", "--name", CLUSTER], check=False)


def test_a_wake_on_kind_with_flux(kind: str, tmp_path: Path) -> None:
    environment = load_config_dir(ROOT / "config")[0]["dev"]
    git = environment.config.git
    with (
        # bound on every interface: kind's pods reach the host through the network's gateway
        GitHubEmulator(bind="0.0.0.0", advertise=kind) as github,
        AwsEmulator(bind="0.0.0.0", advertise=kind, transition_seconds=20) as aws,
    ):
        aws.seed(environment)
        service = github.service
        app_id, key = service.create_app()
        files = {
            path: text.replace("registry.example.com/app:1.0.0", "registry.k8s.io/pause:3.10")
            for path, text in flux_files(environment).items()
        }
        checks = list(git.checks or ("build",))
        service.create_repository(
            git.repository,
            files=files,
            default_branch=git.base_branch,
            required_checks=checks,
            ci=[CiJob(check, seconds=5) for check in checks],
        )
        installation = service.install(app_id, git.repository.split("/")[0], [git.repository])
        reader = service.issue_token(
            service.state.apps[app_id],
            installation,
            [git.repository.split("/")[1]],
            {"contents": "read"},
        ).value

        for namespace in sorted({s.namespace for s in environment.services}):
            kubectl("create", "namespace", namespace)
        secret = base64.b64encode
        kubectl(
            "apply",
            "-f",
            "-",
            stdin=json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "List",
                    "items": [
                        {
                            "apiVersion": "v1",
                            "kind": "Secret",
                            "metadata": {"name": "flux-dev-auth", "namespace": "flux-system"},
                            "data": {
                                "username": secret(b"x-access-token").decode(),
                                "password": secret(reader.encode()).decode(),
                            },
                        },
                        {
                            "apiVersion": "source.toolkit.fluxcd.io/v1",
                            "kind": "GitRepository",
                            "metadata": {"name": "flux-dev", "namespace": "flux-system"},
                            "spec": {
                                "interval": "10s",
                                "url": github.clone_url(git.repository),
                                "ref": {"branch": git.base_branch},
                                "secretRef": {"name": "flux-dev-auth"},
                            },
                        },
                        {
                            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                            "kind": "Kustomization",
                            "metadata": {"name": "apps", "namespace": "flux-system"},
                            "spec": {
                                "interval": "10s",
                                "path": "./apps",
                                "prune": True,
                                "sourceRef": {"kind": "GitRepository", "name": "flux-dev"},
                            },
                        },
                    ],
                }
            ),
        )
        kubectl("create", "namespace", "envwake-system")
        kubectl(
            "-n", "envwake-system", "create", "secret", "generic", "envwake-github-app",
            f"--from-literal=app-id={app_id}",
            f"--from-literal=installation-id={installation}",
            f"--from-literal=private-key={key.decode()}",
            f"--from-literal=api-url={github.url}",
        )  # fmt: skip
        kubectl(
            "-n", "envwake-system", "create", "secret", "generic", "envwake-local",
            f"--from-literal=ENVWAKE_AWS_ENDPOINT_URL={aws.url}",
            "--from-literal=AWS_ACCESS_KEY_ID=testing",
            "--from-literal=AWS_SECRET_ACCESS_KEY=testing",
        )  # fmt: skip
        kubectl("apply", "-k", str(ROOT / "deploy" / "overlays" / "kind"))
        kubectl("-n", "envwake-system", "rollout", "status", "deploy/envwake-operator")

        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(sh("kind", "get", "kubeconfig", "--name", CLUSTER))
        sh(
            sys.executable, "-m", "envwake", "start", "dev",
            "--name", "e2e", "--for", "1h", "--reason", "e2e",
            "--kubeconfig", str(kubeconfig), "-n", "default", "--config-dir", str(ROOT / "config"),
            "--wait", "--wait-timeout", "900",
        )  # fmt: skip
        status = json.loads(kubectl("-n", "default", "get", "ewake", "e2e", "-o", "json"))
        assert status["status"]["phase"] in ("Awake", "Extending", "Completed")
        merged = [
            pr for pr in github.state.repositories[git.repository].pulls.values() if pr.merged
        ]
        assert merged, "no pull request was merged"
        started = time.monotonic()
        while time.monotonic() - started < 300:
            ready = kubectl(
                "-n", "shop", "get", "deploy", "api", "-o", "jsonpath={.status.readyReplicas}"
            )
            if ready and int(ready) > 0:
                break
            time.sleep(5)
        else:
            raise AssertionError("shop/api never became ready under Flux and KEDA")
