"""What one reconcile of an environment did and saw: for status, events and people."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from envwake.errors import EnvwakeError
from envwake.planning import Action, DesiredState, Plan

__all__ = ["ClusterRecord", "EnvironmentReport", "PullRequestRecord", "Record", "Step"]


@dataclass(frozen=True)
class Step:
    """One thing that happened, as a Kubernetes event would carry it."""

    reason: str  # CamelCase, equal to a condition reason
    message: str  # one line, no secrets
    type: Literal["Normal", "Warning"] = "Normal"
    at: float = field(default_factory=time.monotonic, compare=False)  # for durations
    # the stop (its instant) this step belongs to, or whether it is of a hold (a wake-up):
    # a wake that ended before them is not told
    stop_at: datetime | None = field(default=None, compare=False)
    of_hold: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class PullRequestRecord:
    number: int
    url: str
    state: Literal["open", "merged", "closed"]
    action: str
    wave: int
    merge_sha: str | None


@dataclass(frozen=True)
class ClusterRecord:
    id: str
    account: str | None
    state: str


@dataclass
class Record:
    """What envwake must remember across restarts (the operator keeps it in the wakes'
    status): each service's minReplicaCount before envwake first changed it (None: the
    key was absent), and since when envwake holds the environment inside a normal window
    because the normal schedule did not wake it."""

    originals: dict[str, int | None] = field(default_factory=dict)
    held_since: datetime | None = None

    def __bool__(self) -> bool:
        return bool(self.originals) or self.held_since is not None


@dataclass
class EnvironmentReport:
    """Steps are what the reconcile did (a reconcile that changes nothing has none);
    the rest is what it saw."""

    environment: str
    now: datetime
    plan: Plan
    desired: DesiredState
    action: Action | None  # the action in force (the last one due at or before now)
    steps: list[Step] = field(default_factory=list)
    pull_requests: list[PullRequestRecord] = field(default_factory=list)
    clusters: list[ClusterRecord] = field(default_factory=list)
    services_ready: int = 0
    services_total: int = 0
    failure: EnvwakeError | None = None
    converged: bool = False
    # Observed: every cluster available and every service ready at its replicas.
    awake: bool = False
    not_up: list[str] = field(default_factory=list)  # what is not (when not awake)
    # The normal schedule should have woken the environment for a wake and has not.
    normal_schedule_late: bool = False
    recheck_at: datetime | None = None  # look again then (not a planned action)
    record: Record = field(default_factory=Record)  # after this reconcile; empty after a reset
    stopping_at: datetime | None = None  # the stop being carried out, while it is
    holding: bool = False  # a hold is being carried out
    checkpoint: Callable[[str], None] = field(default=lambda reason: None, repr=False)
    on_step: Callable[[Step], None] = field(default=lambda step: None, repr=False)

    @property
    def changed(self) -> bool:
        """Whether this reconcile changed anything (every change is a step)."""
        return bool(self.steps)

    def step(
        self, reason: str, message: str, type: Literal["Normal", "Warning"] = "Normal"
    ) -> None:
        step = Step(reason, message, type, stop_at=self.stopping_at, of_hold=self.holding)
        self.steps.append(step)
        self.on_step(step)  # progress as it happens, before the reconcile ends
        self.checkpoint(reason)
