"""deploy/: every object is valid Kubernetes, the operator runs locked down, and its RBAC
grants exactly what the operator does on the local stack (and nothing else)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import kubernetes_validate
import pytest

from envwake.configdir import load_config_dir
from envwake.localstack import OPERATOR_TOKEN, LocalStack
from envwake.sandbox.clock import VirtualClock

from .kustomize import build

ROOT = Path(__file__).parents[2]
BASE = ROOT / "deploy" / "base"
KIND = ROOT / "deploy" / "overlays" / "kind"
KUBERNETES_VERSION = "1.30"


def by_kind(objects: list[dict]) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


@pytest.mark.parametrize("overlay", [BASE, KIND], ids=["base", "kind"])
def test_every_object_is_valid_for_kubernetes(overlay):
    objects = build(overlay)
    assert len(objects) == 8
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_operator_runs_locked_down_with_probes_and_limits():
    objects = by_kind(build(BASE))
    deployment = objects[("Deployment", "envwake-operator")]
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}  # never two at once
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["image"] == "ghcr.io/envwake/envwake:0.1.0"
    assert container["args"] == ["run"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["ENVWAKE_LIVENESS"].endswith(":8080/healthz")
    # Every writable path is a volume: the root filesystem is read-only.
    mounts = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert {env["ENVWAKE_WORKDIR"], env["HOME"], "/tmp"} <= mounts
    assert pod["serviceAccountName"] == "envwake-operator"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["github-app"]["secret"]["secretName"] == "envwake-github-app"
    config_map = volumes["config"]["configMap"]["name"]
    assert ("ConfigMap", config_map) in objects
    account = objects[("ServiceAccount", "envwake-operator")]
    assert "eks.amazonaws.com/role-arn" in account["metadata"]["annotations"]
    binding = objects[("ClusterRoleBinding", "envwake-operator")]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "envwake-operator", "namespace": "envwake-system"}
    ]


def test_the_config_map_holds_every_environment_config():
    objects = by_kind(build(BASE))
    data = objects[("ConfigMap", "envwake-config")]["data"]
    configs = sorted(p.name for p in (ROOT / "config").glob("*.yaml") if p.stem != "kustomization")
    assert sorted(data) == configs  # a new environment file must be listed in the generator
    for name, text in data.items():
        assert text == (ROOT / "config" / name).read_text()


def test_the_kind_overlay_uses_the_local_image_and_no_irsa():
    objects = by_kind(build(KIND))
    [container] = objects[("Deployment", "envwake-operator")]["spec"]["template"]["spec"][
        "containers"
    ]
    assert container["image"] == "envwake:dev"
    assert container["imagePullPolicy"] == "Never"
    assert container["envFrom"] == [{"secretRef": {"name": "envwake-local"}}]
    account = objects[("ServiceAccount", "envwake-operator")]
    assert "eks.amazonaws.com/role-arn" not in (account["metadata"].get("annotations") or {})


def granted(objects: list[dict], role: str) -> set[tuple[str, str, str]]:
    rules = by_kind(objects)[("ClusterRole", role)]["rules"]
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


async def test_rbac_grants_exactly_what_the_operator_uses(tmp_path):
    """A whole wake on the local stack (start, awake, deleted: stop, reset, finalizer
    removed), with every request the operator makes recorded as RBAC sees it."""
    environments, _ = load_config_dir(ROOT / "config")
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    clock = VirtualClock(saturday, speed=120)
    stack = LocalStack(environments["dev"], workdir=tmp_path, clock=clock)
    async with stack, stack.operator() as runtime:
        wakes = f"{stack.kubernetes_url}/apis/envwake.dev/v1alpha1/namespaces/envwake"
        async with aiohttp.ClientSession() as http:
            manifest = stack.wake_manifest("rbac", {"reason": "RBAC check"})
            async with http.post(f"{wakes}/environmentwakes", json=manifest) as response:
                assert response.status == 201
            for _ in range(1200):
                report = runtime.reports.get("dev")
                if report is not None and report.converged and report.desired.value == "HOLD":
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"never awake: {runtime.reports}")
            async with http.delete(f"{wakes}/environmentwakes/rbac") as response:
                assert response.status == 200
            for _ in range(1200):
                async with http.get(f"{wakes}/environmentwakes/rbac") as response:
                    if response.status == 404:
                        break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the finalizer was never removed")
    used: dict[tuple[str, str, str], int] = defaultdict(int)
    for request in stack.kubernetes.envwake_requests:
        if request.token == OPERATOR_TOKEN and request.resource:  # not discovery
            used[(request.group, request.resource, request.verb)] += 1
    assert set(used) == granted(build(BASE), "envwake-operator"), sorted(used)
    assert stack.cluster_states() == {"shop-db": "stopped", "payments-db": "stopped"}


def test_the_config_kustomization_is_not_read_as_an_environment():
    environments, problems = load_config_dir(ROOT / "config")
    assert problems == []
    assert sorted(environments) == ["dev", "stg"]
