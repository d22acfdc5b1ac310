"""What one reconcile of an environment did and saw: for status, events and people."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from envwake.errors import EnvwakeError
from envwake.planning import Action, DesiredState, Plan

__all__ = ["ClusterRecord", "EnvironmentReport", "PullRequestRecord", "Step"]


@dataclass(frozen=True)
class Step:
    """One thing that happened, as a Kubernetes event would carry it."""

    reason: str  # CamelCase, equal to a condition reason
    message: str  # one line, no secrets
    type: Literal["Normal", "Warning"] = "Normal"
    at: float = field(default_factory=time.monotonic, compare=False)  # for durations


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
class EnvironmentReport:
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
    checkpoint: Callable[[str], None] = field(default=lambda reason: None, repr=False)
    on_step: Callable[[Step], None] = field(default=lambda step: None, repr=False)

    def step(
        self, reason: str, message: str, type: Literal["Normal", "Warning"] = "Normal"
    ) -> None:
        step = Step(reason, message, type)
        self.steps.append(step)
        self.on_step(step)  # progress as it happens, before the reconcile ends
        self.checkpoint(reason)
