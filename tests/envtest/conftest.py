"""Kubeconfigs for the real API server (tests/envtest/server.py): its admin, and the
operator's and the Slack app's ServiceAccounts as deploy/ binds them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.kustomize import build

ROOT = Path(__file__).parents[2]
IDENTITY_KINDS = {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"}


def install_identities(server) -> None:
    """deploy/'s namespace, ServiceAccounts and RBAC, once the API server's authorizer
    has them: it learns RBAC objects through a watch, and on a loaded machine a request
    made at once can be refused (403) by a binding that exists."""
    objects = [o for o in build(ROOT / "deploy" / "base") if o["kind"] in IDENTITY_KINDS]
    for obj in objects:
        server.apply(obj)
    roles = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ClusterRole"}
    for binding in (o for o in objects if o["kind"] == "ClusterRoleBinding"):
        role = roles.get(binding["roleRef"]["name"])
        if role is None:
            continue
        for rule in role["rules"]:
            for subject in binding["subjects"]:
                user = f"system:serviceaccount:{subject['namespace']}:{subject['name']}"
                _until_allowed(server, user, rule)


def _until_allowed(server, user: str, rule: dict[str, Any]) -> None:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": user,
            "resourceAttributes": {
                "group": rule.get("apiGroups", [""])[0],
                "resource": rule["resources"][0].split("/")[0],
                "verb": rule["verbs"][0],
            },
        },
    }
    deadline = time.monotonic() + 30
    while True:
        code, answer = server.request(
            "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review
        )
        if code == 201 and (answer.get("status") or {}).get("allowed"):
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"RBAC never granted {user} {rule}: {answer}")
        time.sleep(0.1)


@pytest.fixture
def kubeconfigs(real_api_server, tmp_path) -> dict[str, Any]:
    install_identities(real_api_server)
    real_api_server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    return {
        "server": real_api_server,
        "admin": real_api_server.kubeconfig(tmp_path / "admin", namespace="team-a"),
        **{
            who: real_api_server.kubeconfig(
                tmp_path / who,
                token=real_api_server.token_for("envwake-system", f"envwake-{who}"),
                namespace="team-a",
            )
            for who in ("operator", "slack")
        },
    }
