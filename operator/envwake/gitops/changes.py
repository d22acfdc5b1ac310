"""Change sets: the manifest edits one pull request makes, and how it is named and told."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from envwake import manifests
from envwake.manifests import FieldEdit

__all__ = ["BRANCH_PREFIX", "ChangeSet", "Edit"]

KEDA_MIN_REPLICAS = "spec.minReplicaCount"
BRANCH_PREFIX = "envwake/"  # + environment + "/": every branch envwake makes


@dataclass(frozen=True)
class Edit:
    """Set one field of one manifest: a min-replica count (None: remove it, so KEDA's
    default applies), or a pod-template annotation."""

    path: str
    kind: Literal["min-replicas", "annotation"]
    value: int | str | None
    key: str | None = None  # the annotation key
    field: str = KEDA_MIN_REPLICAS
    document_name: str | None = None
    document_kind: str | None = None

    def apply(self, text: str) -> FieldEdit:
        if self.kind == "min-replicas":
            if self.value is None:
                return manifests.remove_min_replicas(
                    text,
                    source=self.path,
                    kind=self.document_kind,
                    name=self.document_name,
                    field=self.field,
                )
            assert isinstance(self.value, int)
            return manifests.set_min_replicas(
                text,
                self.value,
                source=self.path,
                kind=self.document_kind,
                name=self.document_name,
                field=self.field,
            )
        assert self.key is not None
        assert self.value is not None
        return manifests.set_pod_template_annotation(
            text,
            self.key,
            str(self.value),
            source=self.path,
            kind=self.document_kind,
            name=self.document_name,
        )

    def identity(self) -> tuple[str, str, str, str]:
        target = self.field if self.kind == "min-replicas" else f"annotations[{self.key}]"
        return (
            self.path,
            f"{self.document_kind or ''}/{self.document_name or ''}",
            target,
            repr(self.value),
        )


@dataclass(frozen=True)
class ChangeSet:
    """All the edits of one action on one environment: ONE commit, ONE pull request."""

    environment: str
    action: str  # start | expand | stop | reset
    edits: tuple[Edit, ...]
    wakes: tuple[str, ...] = ()  # "namespace/name (requested by ...)", for people
    reason: str | None = None
    instant: datetime | None = None  # when the action is due: one branch per action instance

    @property
    def digest(self) -> str:
        """A short hash of the desired content, so the same change always has one branch."""
        canonical = json.dumps(sorted(e.identity() for e in self.edits))
        return hashlib.sha256(canonical.encode()).hexdigest()[:10]

    @property
    def branch(self) -> str:
        """``envwake/<environment>/<action>-<instant>-<digest>``: the same action instance
        with the same content always has this branch (a restart finds its pull request),
        and next week's stop has its own."""
        when = f"{self.instant.astimezone(UTC):%Y%m%dT%H%MZ}-" if self.instant else ""
        return f"{BRANCH_PREFIX}{self.environment}/{self.action}-{when}{self.digest}"

    @property
    def paths(self) -> list[str]:
        return sorted({e.path for e in self.edits})

    @property
    def title(self) -> str:
        files = len(self.paths)
        return f"envwake: {self.action} {self.environment} ({files} file{'s' * (files != 1)})"

    def commit_message(self, changes: list[FieldEdit]) -> str:
        lines = [self.title, "", *(f"- {_line(c)}" for c in changes if c.changed)]
        return "\n".join(lines) + f"\n\nenvwake-change: {self.branch}\n"

    def body(self, changes: list[FieldEdit]) -> str:
        rows = [
            f"| `{c.document.split(' (document')[0]}` in `{path}` | `{c.field}` | "
            f"{_cell(c.before)} | {_cell(c.after)} |"
            for path, c in changes_by_path(self, changes)
            if c.changed
        ]
        wakes = "\n".join(f"- {w}" for w in self.wakes) or "- (none recorded)"
        return "\n".join(
            [
                f"envwake **{self.action}** for environment **{self.environment}**.",
                "",
                f"Reason: {self.reason or 'not given'}",
                "",
                "Wakes:",
                wakes,
                "",
                "| document | field | before | after |",
                "| --- | --- | --- | --- |",
                *rows,
                "",
                "This pull request is opened, merged and cleaned up by envwake; "
                "please do not push to its branch.",
                f"<!-- envwake-change: {self.branch} -->",
            ]
        )


def changes_by_path(change: ChangeSet, changes: list[FieldEdit]) -> list[tuple[str, FieldEdit]]:
    return [(edit.path, result) for edit, result in zip(change.edits, changes, strict=True)]


def _line(change: FieldEdit) -> str:
    before, after = change.before or "absent", change.after or "absent"
    return f"{change.document}: {change.field}: {before} -> {after}"


def _cell(value: str | None) -> str:
    return "_absent_" if value is None else f"`{value}`"
