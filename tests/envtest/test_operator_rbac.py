"""The operator on a real API server, as the ServiceAccount deploy/ binds: it is never
refused, and uses every permission it has (the audit log says both)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from envwake.configdir import load_config_dir
from envwake.localstack import KubernetesApi, LocalStack
from envwake.sandbox.clock import VirtualClock
from tests.deploy.kustomize import build
from tests.deploy.test_deploy import granted
from tests.envtest.conftest import install_identities
from tests.fakes import QUICK_STACK

ROOT = Path(__file__).parents[2]
OPERATOR = "system:serviceaccount:envwake-system:envwake-operator"
# What every authenticated identity may do (system:basic-user), whatever deploy/ says.
EVERYONE = {
    ("authorization.k8s.io", "selfsubjectaccessreviews", "create"),
    ("authorization.k8s.io", "selfsubjectrulesreviews", "create"),
    ("authentication.k8s.io", "selfsubjectreviews", "create"),
}


def install_identity(server) -> str:
    """deploy/'s namespace, ServiceAccounts and RBAC; returns the operator's token."""
    install_identities(server)
    return server.token_for("envwake-system", "envwake-operator")


def test_the_operator_may_do_exactly_what_deploy_grants(real_api_server):
    token = install_identity(real_api_server)
    status, review = real_api_server.request(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
         "spec": {"namespace": "envwake"}},
        token=token,
    )  # fmt: skip
    assert status == 201, review
    may = {
        (group, resource, verb)
        for rule in review["status"]["resourceRules"]
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule["verbs"]
    }
    assert may - EVERYONE == granted(build(ROOT / "deploy" / "base"), "envwake-operator")
    # and, for example, not this:
    code, _ = real_api_server.request("GET", "/api/v1/namespaces/envwake/secrets", token=token)
    assert code == 403


async def test_a_whole_wake_as_the_service_account_is_never_refused(real_api_server, tmp_path):
    server = real_api_server
    token = install_identity(server)
    environments, _ = load_config_dir(ROOT / "config")
    environment = environments["dev"]
    for namespace in {"envwake", "flux-system"} | {s.namespace for s in environment.services}:
        server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    certs = server.root / "certs"
    api = KubernetesApi(
        server.url, certs / "ca.crt", (certs / "admin.crt", certs / "admin.key"), token
    )
    clock = VirtualClock(datetime(2026, 11, 28, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo")), speed=120)
    stack = LocalStack(
        environment, workdir=tmp_path, clock=clock, kubernetes_api=api, timing=QUICK_STACK
    )
    wakes = "/apis/envwake.dev/v1alpha1/namespaces/envwake/environmentwakes"
    mark = server.audit_mark()
    async with stack, stack.operator(finished_ttl=60) as runtime:
        # the real server stamps creation in real time; the stack's clock is on Saturday
        start = {"startAt": clock.now().isoformat(timespec="seconds")}
        code, answer = server.request("POST", wakes, stack.wake_manifest("rbac", start))
        assert code == 201, answer
        for _ in range(1200):
            report = runtime.reports.get("dev")
            if report is not None and report.converged and report.desired.value == "HOLD":
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"never awake: {runtime.reports}")
        code, _ = server.request("DELETE", f"{wakes}/rbac")
        assert code == 200
        # a wake that finishes at once (Failed: no such environment) is deleted after its
        # time, by the operator
        typo = stack.wake_manifest("typo", {})
        typo["spec"]["environment"] = "prod"
        assert server.request("POST", wakes, typo)[0] == 201
        for _ in range(1200):
            if all(server.request("GET", f"{wakes}/{n}")[0] == 404 for n in ("rbac", "typo")):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the finalizer was never removed, or the finished wake stayed")
    requests = server.requests_by(OPERATOR, since=mark)
    refused = [(r["verb"], r["requestURI"]) for r in requests if r["responseStatus"]["code"] == 403]
    assert refused == []
    used = {
        (
            r["objectRef"].get("apiGroup", ""),
            r["objectRef"]["resource"]
            + (f"/{r['objectRef']['subresource']}" if r["objectRef"].get("subresource") else ""),
            r["verb"],
        )
        for r in requests
        if "objectRef" in r and r["objectRef"].get("resource")
    }
    assert used == granted(build(ROOT / "deploy" / "base"), "envwake-operator"), sorted(used)
    assert stack.cluster_states() == {"shop-db": "stopped", "payments-db": "stopped"}
