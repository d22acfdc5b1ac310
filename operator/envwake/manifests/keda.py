"""Read what envwake needs from a KEDA ScaledObject: its min-replica field and cron triggers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ruamel.yaml
from ruamel.yaml.error import YAMLError

from envwake import errors
from envwake.manifests import documents

__all__ = ["CronTrigger", "ScaledObjectSummary", "document_data", "summarize"]


@dataclass(frozen=True)
class CronTrigger:
    """One ``type: cron`` trigger: pods held at ``desired_replicas`` from start to end."""

    start: str
    end: str
    timezone: str
    desired_replicas: int


@dataclass(frozen=True)
class ScaledObjectSummary:
    kind: str | None
    name: str | None
    field: str
    min_replicas: object  # what the field holds: an int, None when absent, or anything else
    cron_triggers: tuple[CronTrigger, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "field": self.field,
            "minReplicaCount": self.min_replicas,
            "cronTriggers": [
                {
                    "start": t.start,
                    "end": t.end,
                    "timezone": t.timezone,
                    "desiredReplicas": t.desired_replicas,
                }
                for t in self.cron_triggers
            ],
        }


def summarize(
    text: str,
    *,
    source: str,
    kind: str | None = None,
    name: str | None = None,
    field: str = "spec.minReplicaCount",
) -> ScaledObjectSummary:
    """Name, min-replica value and cron triggers of the selected document."""
    document = documents.select_document(
        documents.parse_documents(text, source=source),
        source=source,
        kind=kind,
        name=name,
        default_kind="ScaledObject",
    )
    where = f"{source}: {document.describe()}"
    data = document_data(document, source=source)
    return ScaledObjectSummary(
        kind=document.kind,
        name=document.name,
        field=field,
        min_replicas=_get(data, field.split(".")),
        cron_triggers=tuple(_cron_triggers(data, where)),
    )


def document_data(document: documents.Document, *, source: str) -> dict[str, Any]:
    """The document as plain Python data (merge keys resolved)."""
    loader = ruamel.yaml.YAML(typ="safe", pure=True)
    try:
        data = loader.constructor.construct_document(document.root)
    except YAMLError as exc:
        raise errors.ManifestUnreadable(f"{source}: {document.describe()}: {exc}") from exc
    if not isinstance(data, dict):
        raise errors.ManifestUnreadable(f"{source}: {document.describe()} is not a mapping")
    return data


def _get(data: object, path: list[str]) -> object:
    for segment in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(segment)
    return data


def _cron_triggers(data: Mapping[str, Any], where: str) -> list[CronTrigger]:
    triggers = _get(data, ["spec", "triggers"])
    if triggers is None:
        return []
    if not isinstance(triggers, list):
        raise errors.FieldPathInvalid(f"{where}: spec.triggers is not a sequence")
    found = []
    for index, trigger in enumerate(triggers):
        if not isinstance(trigger, Mapping) or trigger.get("type") != "cron":
            continue
        here = f"{where}: spec.triggers[{index}].metadata"
        metadata = trigger.get("metadata")
        if not isinstance(metadata, Mapping):
            raise errors.FieldPathInvalid(f"{here} is missing or not a mapping")
        required = ("timezone", "start", "end", "desiredReplicas")  # all required by KEDA
        missing = [k for k in required if metadata.get(k) is None]
        if missing:
            raise errors.FieldPathInvalid(f"{here} lacks {', '.join(missing)}")
        found.append(
            CronTrigger(
                start=str(metadata["start"]),
                end=str(metadata["end"]),
                timezone=str(metadata["timezone"]),
                desired_replicas=_replicas(metadata["desiredReplicas"], f"{here}.desiredReplicas"),
            )
        )
    return found


def _replicas(raw: object, where: str) -> int:
    if isinstance(raw, bool):
        raise errors.FieldValueInvalid(f"{where}: {raw!r} is not an integer")
    if isinstance(raw, int):
        value = raw
    else:
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise errors.FieldValueInvalid(f"{where}: {raw!r} is not an integer") from None
    if value < 0:
        raise errors.FieldValueInvalid(f"{where}: {value} is negative")
    return value
