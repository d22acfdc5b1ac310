"""deploy/: every object is valid Kubernetes, the operator runs locked down, and its RBAC
grants exactly what the operator does on the local stack (and nothing else)."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest

from envwake.configdir import load_config_dir

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
    assert len(objects) == 11
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


def test_the_config_kustomization_is_not_read_as_an_environment():
    environments, problems = load_config_dir(ROOT / "config")
    assert problems == []
    assert sorted(environments) == ["dev", "stg"]


SLACK = ROOT / "deploy" / "slack"


def test_the_slack_app_runs_locked_down_as_its_own_identity():
    objects = build(SLACK)
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    slack = by_kind(objects)
    base = by_kind(build(BASE))
    deployment = slack[("Deployment", "envwake-slack")]
    assert deployment["metadata"]["namespace"] == "envwake-system"
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}  # one poster per thread
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert pod["serviceAccountName"] == "envwake-slack"
    assert ("ServiceAccount", "envwake-slack") in base
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["args"] == ["slack"]
    assert container["image"] == "ghcr.io/envwake/envwake:0.1.0"
    secrets = {
        e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e
    }
    assert set(secrets) == {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"}
    assert {s["name"] for s in secrets.values()} == {"envwake-slack"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = {e["name"]: e.get("value") for e in container["env"]}
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    assert env["ENVWAKE_SLACK_PORT"] == str(port)
    volumes = {v["name"]: v for v in pod["volumes"]}
    config_map = ("ConfigMap", volumes["config"]["configMap"]["name"])
    assert slack[config_map] == base[config_map]  # the allow-lists the operator's config has
    service = slack[("Service", "envwake-slack")]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
