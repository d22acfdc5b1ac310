"""The sandbox Flux writes, where envwake reads, what real Flux and the controllers
write (the golden file tests/cluster saw: tests/sandbox/real_shapes.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

from envwake.configdir import load_config_dir
from envwake.localstack import LocalStack
from envwake.model.cluster import REQUESTED_AT
from envwake.sandbox.clock import VirtualClock
from tests.sandbox.real_shapes import deployment_shape, kustomization_shape, load_golden

ROOT = Path(__file__).parents[2]
BROKEN = "data: [unclosed\n"


async def test_the_sandbox_flux_writes_the_shapes_real_flux_writes(tmp_path):
    (tmp_path / "config").mkdir()
    text = (ROOT / "config" / "stg.yaml").read_text() + "flux:\n  kustomization: {name: apps}\n"
    (tmp_path / "config" / "stg.yaml").write_text(text)
    environments, problems = load_config_dir(tmp_path / "config")
    assert not problems
    saturday_night = datetime(2026, 11, 28, 3, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # KEDA at 0
    stack = LocalStack(
        environments["stg"],
        workdir=tmp_path / "stack",
        clock=VirtualClock(saturday_night),
        drive_world=True,
    )
    seen: dict[str, Any] = {}
    async with stack:
        # (the Kubernetes emulator answers on this event loop: the world ticks elsewhere)
        await asyncio.to_thread(_live, stack, seen)
    assert seen == load_golden()


def _live(stack: LocalStack, seen: dict[str, Any]) -> None:
    url = stack.kubernetes_url
    kustomizations = f"{url}/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system"
    sources = f"{url}/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system"

    def ask_flux(token: str) -> None:
        for where in (
            f"{sources}/gitrepositories/apps",
            f"{kustomizations}/kustomizations/apps",
        ):
            requests.patch(
                where,
                json={"metadata": {"annotations": {REQUESTED_AT: token}}},
                headers={"Content-Type": "application/merge-patch+json"},
                timeout=10,
            ).raise_for_status()

    def status(path: str) -> dict[str, Any]:
        answer = requests.get(f"{url}{path}", timeout=10)
        answer.raise_for_status()
        return dict(answer.json().get("status") or {})

    stack.tick_world()
    seen["deployment at 0"] = deployment_shape(
        status("/apis/apps/v1/namespaces/shop/deployments/api")
    )
    service = stack.github.service
    head = service.push_to_base(stack.repository, {"docs/a.md": "a\n"}, "docs")
    ask_flux(head)
    stack.tick_world()
    applied = status(
        "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps"
    )
    assert applied["lastAppliedRevision"].endswith(head)
    seen["applied"] = kustomization_shape(applied, token=head)
    service.push_to_base(stack.repository, {"apps/x.yaml": BROKEN}, "broken")
    ask_flux("asked-again")
    stack.tick_world()
    failed = status(
        "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/apps"
    )
    seen["build failed"] = kustomization_shape(failed, token="asked-again")
