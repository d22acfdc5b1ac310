"""Kopf wiring, and nothing else: every handler delegates to the ``Runtime`` in memo."""

from __future__ import annotations

from typing import Any

import kopf

from envwake import metrics
from envwake.runtime import Runtime

__all__ = ["FINALIZER", "GROUP", "PLURAL", "VERSION"]

GROUP, VERSION, PLURAL = "envwake.dev", "v1alpha1", "environmentwakes"
FINALIZER = "envwake.dev/finalizer"


def _runtime(memo: kopf.Memo) -> Runtime:
    runtime: Runtime = memo["runtime"]
    return runtime


@kopf.on.startup(id="envwake-settings")
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="envwake.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="envwake.dev", key="last-handled-configuration"
    )
    settings.posting.level = 20  # INFO and above become events
    port = memo.get("metrics_port")
    if port:
        memo["metrics_server"] = await metrics.serve(_runtime(memo).metrics, port=int(port))


@kopf.on.cleanup(id="envwake-stop")
async def shutdown(memo: kopf.Memo, **_: Any) -> None:
    await _runtime(memo).stop()
    server = memo.get("metrics_server")
    if server is not None:
        await server.cleanup()


@kopf.on.resume(GROUP, VERSION, PLURAL, id="wake-resumed")
@kopf.on.create(GROUP, VERSION, PLURAL, id="wake-created")
@kopf.on.update(GROUP, VERSION, PLURAL, id="wake-updated", field="spec")
async def wake_changed(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    await _runtime(memo).upsert(dict(body))


@kopf.on.delete(GROUP, VERSION, PLURAL, id="wake-deleted")
async def wake_deleted(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    await _runtime(memo).remove(dict(body))
