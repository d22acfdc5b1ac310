"""Kopf wiring, and nothing else: every handler delegates to the ``Runtime`` in memo.

The handlers go into a registry made on demand, not Kopf's global one, so that several
operators (the demo's, each test's) can live in one process with their own login.
"""

from __future__ import annotations

from typing import Any

import kopf

from envwake import metrics
from envwake.runtime import Runtime

__all__ = ["FINALIZER", "GROUP", "PLURAL", "VERSION", "registry"]

GROUP, VERSION, PLURAL = "envwake.dev", "v1alpha1", "environmentwakes"
FINALIZER = "envwake.dev/finalizer"


def _runtime(memo: kopf.Memo) -> Runtime:
    runtime: Runtime = memo["runtime"]
    return runtime


async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="envwake.dev")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="envwake.dev", key="last-handled-configuration"
    )
    settings.posting.level = 20  # INFO and above become events
    namespaces = list(memo.get("namespaces") or ())
    if namespaces and not any(mark in n for n in namespaces for mark in "*?[!"):
        # exact names only: nothing to discover, so no need to list and watch every
        # namespace (which deploy/'s RBAC does not grant; Kopf would retry, refused)
        settings.scanning.disabled = True
    try:  # every wake known before any reconcile: never a reset under an unseen wake
        await _runtime(memo).adopt(list(memo.get("namespaces") or ()))
    except Exception as exc:
        raise kopf.TemporaryError(f"listing the EnvironmentWakes failed: {exc}", delay=5) from exc
    port = memo.get("metrics_port")
    if port:
        memo["metrics_server"] = await metrics.serve(_runtime(memo).metrics, port=int(port))


async def shutdown(memo: kopf.Memo, **_: Any) -> None:
    await _runtime(memo).stop()
    server = memo.get("metrics_server")
    if server is not None:
        await server.cleanup()


async def wake_changed(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    runtime = _runtime(memo)
    if (body.get("spec") or {}).get("cancelled") is True:
        retry = await runtime.cancel(dict(body))
        if retry is not None:
            raise kopf.TemporaryError("ending the cancelled wake failed for now", delay=retry)
        return
    await runtime.upsert(dict(body))


async def wake_deleted(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    retry = await _runtime(memo).remove(dict(body))
    if retry is not None:  # the environment is not back yet: keep the finalizer, try again
        raise kopf.TemporaryError("putting the environment back failed for now", delay=retry)


def registry(*, login_from_kubeconfig: bool = True) -> kopf.OperatorRegistry:
    """A fresh registry with envwake's handlers. It logs in as the kubernetes client does
    (in-cluster, else the kubeconfig) unless told not to; then add a login handler."""
    handlers = kopf.OperatorRegistry()
    if login_from_kubeconfig:
        kopf.on.login(id="kubeconfig", registry=handlers)(kopf.login_via_client)
    kopf.on.startup(id="envwake-settings", registry=handlers)(configure)
    kopf.on.cleanup(id="envwake-stop", registry=handlers)(shutdown)
    resource = (GROUP, VERSION, PLURAL)
    kopf.on.resume(*resource, id="wake-resumed", registry=handlers)(wake_changed)
    kopf.on.create(*resource, id="wake-created", registry=handlers)(wake_changed)
    kopf.on.update(*resource, id="wake-updated", field="spec", registry=handlers)(wake_changed)
    kopf.on.delete(*resource, id="wake-deleted", registry=handlers)(wake_deleted)
    return handlers
