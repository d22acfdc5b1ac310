"""What real Flux and the real controllers write where envwake reads, reduced to its
shape (commit SHAs, tokens, temporary paths and timeouts masked), so that the sandbox
Flux/KEDA can be held to it. ``testdata/real-cluster-shapes.json`` is what the cluster
tier saw (tests/cluster/test_the_sandbox_is_held_to_the_real_cluster.py checks it is
still so); tests/sandbox/test_flux_shapes.py holds the sandbox to it.

Not emulated, on purpose: a Kustomization's inventory, history and observedGeneration,
and the ScaledObject's status (envwake reads none of them)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

__all__ = ["GOLDEN", "deployment_shape", "kustomization_shape", "load_golden"]

GOLDEN = Path(__file__).parent / "testdata" / "real-cluster-shapes.json"
_MASKS = (
    (re.compile(r"MalformedYAMLError: .*", re.S), "MalformedYAMLError: <the YAML problem>"),
    (re.compile(r"/tmp/kustomization-\d+/"), "<tmp>/"),
    (re.compile(r"timeout of [0-9hms.]+"), "timeout of <timeout>"),
    (re.compile(r"\b[A-Za-z0-9._-]+@sha1:[0-9a-f]{40}"), "<branch>@sha1:<sha>"),
    (re.compile(r"\b[0-9a-f]{40}\b"), "<sha>"),
)


def _mask(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text.strip()


def kustomization_shape(status: dict[str, Any], *, token: str) -> dict[str, Any]:
    """The fields envwake (and its tests) read of a Kustomization's status; ``token``:
    the requestedAt value last asked for."""
    handled = status.get("lastHandledReconcileAt")
    return {
        "lastAppliedRevision": _mask(status.get("lastAppliedRevision")),
        "lastAttemptedRevision": _mask(status.get("lastAttemptedRevision")),
        "lastHandledReconcileAt": "<token>" if handled == token else _mask(handled),
        "conditions": sorted(
            [c["type"], c["status"], c.get("reason", ""), _mask(c.get("message", ""))]
            for c in status.get("conditions") or []
        ),
    }


def deployment_shape(status: dict[str, Any]) -> dict[str, Any]:
    """The replica counts envwake reads of a Deployment's status (absent is not 0)."""
    return {key: status.get(key, "absent") for key in ("replicas", "readyReplicas")}


def load_golden() -> dict[str, Any]:
    return dict(json.loads(GOLDEN.read_text()))
