"""What a Kubernetes cluster says of what it applied, as plain data: a Flux
Kustomization's revisions (Flux's ``<branch>@sha1:<sha>``; older Flux wrote
``<branch>/<sha>``) and its conditions."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["REQUESTED_AT", "Condition", "FluxStatus", "commit_of"]

# The annotation that makes Flux reconcile now (what `flux reconcile` sets, to any new value)
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"


@dataclass(frozen=True)
class Condition:
    status: str  # "True", "False", "Unknown"
    reason: str
    message: str


@dataclass(frozen=True)
class FluxStatus:
    """A Flux Kustomization as its status tells it."""

    last_applied: str | None  # the revision Flux last applied, as Flux writes it
    last_attempted: str | None
    ready: Condition | None = None
    stalled: Condition | None = None

    @property
    def applied_commit(self) -> str | None:
        return commit_of(self.last_applied)

    @property
    def attempted_commit(self) -> str | None:
        return commit_of(self.last_attempted)

    @property
    def failure(self) -> Condition | None:
        """Flux's own account of why it cannot apply, when it says so."""
        if self.stalled is not None and self.stalled.status == "True":
            return self.stalled
        if self.ready is not None and self.ready.status == "False":
            return self.ready
        return None


def commit_of(revision: str | None) -> str | None:
    """The commit of a Flux revision: ``main@sha1:<sha>``, ``main/<sha>`` or a bare sha."""
    if not revision:
        return None
    for separator in ("@sha1:", "@sha256:", "/"):
        if separator in revision:
            return revision.rsplit(separator, 1)[1] or None
    return revision
