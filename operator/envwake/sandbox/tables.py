"""A CRD's printer columns as the API server renders them for ``kubectl get``.

The API server answers ``Accept: application/json;as=Table;g=meta.k8s.io;v=v1`` with a
``meta.k8s.io/v1`` Table: a Name column, then each of the CRD's
``additionalPrinterColumns`` (its JSONPath read from the object; a missing value is
null; a ``date`` is shown as the time since it, told by the server's clock, in
Kubernetes' human-duration form), and each row's object as PartialObjectMetadata.
Only the JSONPath kubectl's printer columns use is understood: ``.a.b``, ``[n]`` and a
``[?(@.k=="v")]`` filter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

__all__ = ["ENVIRONMENT_WAKE_COLUMNS", "human_duration", "table"]

# crds/environmentwake.yaml's additionalPrinterColumns (a test keeps the two equal)
ENVIRONMENT_WAKE_COLUMNS: list[dict[str, Any]] = [
    {"name": "Env", "type": "string", "jsonPath": ".spec.environment"},
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {
        "name": "Start",
        "type": "string",
        "description": "When the environment is awake from (effective, in the environment's "
        "time zone)",
        "jsonPath": ".status.effectiveStartAt",
    },
    {
        "name": "Stop",
        "type": "string",
        "description": "When it may sleep again (effective, after defaults)",
        "jsonPath": ".status.effectiveStopAt",
    },
    {
        "name": "Next",
        "type": "string",
        "description": "The next action and its time",
        "jsonPath": ".status.nextAction.description",
    },
    {
        "name": "Ready",
        "type": "string",
        "priority": 1,
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    },
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]

_NAME = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace. Is required when creating "
    "resources, although some resources may allow a client to request the generation of an "
    "appropriate name automatically. Name is primarily intended for creation idempotence and "
    "configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    "priority": 0,
}
_STEP = re.compile(r'\.([A-Za-z0-9_-]+)|\[(\d+)\]|\[\?\(@\.([A-Za-z0-9_-]+)=="([^"]*)"\)\]')


def table(
    columns: Sequence[dict[str, Any]],
    objects: Sequence[dict[str, Any]],
    resource_version: str,
    now: datetime,
) -> dict[str, Any]:
    definitions = [_NAME] + [
        {
            "name": c["name"],
            "type": c["type"],
            "format": c.get("format", ""),
            "description": c.get("description")
            or f"Custom resource definition column (in JSONPath format): {c['jsonPath']}",
            "priority": c.get("priority", 0),
        }
        for c in columns
    ]
    rows = [
        {
            "cells": [obj.get("metadata", {}).get("name")]
            + [_cell(c["type"], _read(obj, c["jsonPath"]), now) for c in columns],
            "object": {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata") or {},
            },
        }
        for obj in objects
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    }


def _read(obj: Any, path: str) -> Any:
    """The first value ``path`` finds in ``obj``, or None."""
    values = [obj]
    for field, index, key, wanted in _STEP.findall(path):
        found = []
        for value in values:
            if field and isinstance(value, dict) and field in value:
                found.append(value[field])
            elif index and isinstance(value, list) and int(index) < len(value):
                found.append(value[int(index)])
            elif key and isinstance(value, list):
                found += [v for v in value if isinstance(v, dict) and str(v.get(key)) == wanted]
        values = found
    return values[0] if values else None


def _cell(kind: str, value: Any, now: datetime) -> Any:
    if value is None:
        return None
    if kind == "date":
        try:
            since = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return "<invalid>"
        return human_duration((now - since).total_seconds())
    if kind == "integer":
        return int(value) if isinstance(value, int | float) else None
    if kind == "number":
        return float(value) if isinstance(value, int | float) else None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    return value if isinstance(value, str) else str(value)


def human_duration(seconds: float) -> str:
    """Kubernetes' HumanDuration (k8s.io/apimachinery/pkg/util/duration), as Age shows."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 60 * 2:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = hours // 24
        rest = days % 365
        return f"{days // 365}y" if rest == 0 else f"{days // 365}y{rest}d"
    return f"{hours // 24 // 365}y"
