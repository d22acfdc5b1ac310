"""Kubeconfigs for the real API server (tests/envtest/server.py): its admin, and the
operator's and the Slack app's ServiceAccounts as deploy/ binds them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy.kustomize import build

ROOT = Path(__file__).parents[2]
IDENTITY_KINDS = {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"}


def install_identities(server) -> None:
    """deploy/'s namespace, ServiceAccounts and RBAC."""
    for obj in build(ROOT / "deploy" / "base"):
        if obj["kind"] in IDENTITY_KINDS:
            server.apply(obj)


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
