"""What the emulator knows: apps, installations, tokens, repositories, pull requests,
checks, CI jobs and faults. Guarded by one lock; every handler works on it."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from envwake.sandbox.github.gitstore import GitStore

__all__ = [
    "App",
    "CheckRun",
    "CiJob",
    "CommitStatus",
    "Fault",
    "Installation",
    "PullRequest",
    "Repository",
    "State",
    "Token",
]


@dataclass
class App:
    id: int
    slug: str
    public_key_pem: bytes


@dataclass
class Installation:
    id: int
    app_id: int
    account: str
    repositories: set[str]  # full names


@dataclass
class Token:
    value: str
    installation_id: int
    repositories: set[str]
    permissions: dict[str, str]
    expires_at: datetime
    revoked: bool = False


@dataclass(frozen=True)
class CiJob:
    """One CI job run on every new head: as a check run or as a commit status."""

    name: str
    outcome: Literal["success", "failure", "hang"] = "success"
    seconds: float = 30.0
    kind: Literal["check_run", "status"] = "check_run"


@dataclass
class CheckRun:
    id: int
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    started_at: datetime
    completed_at: datetime | None
    due: datetime | None  # when the simulated CI finishes it; None: never
    fails: bool = False  # the commit itself fails this check (see Repository.ci_fails)


@dataclass
class CommitStatus:
    id: int
    sha: str
    context: str
    state: str
    target_url: str | None
    description: str | None
    created_at: datetime
    due: datetime | None = None
    final_state: str | None = None


@dataclass
class PullRequest:
    number: int
    id: int
    title: str
    body: str | None
    head: str  # branch name
    head_sha: str
    base: str
    user: str
    created_at: datetime
    updated_at: datetime
    state: Literal["open", "closed"] = "open"
    merged: bool = False
    merged_at: datetime | None = None
    merge_commit_sha: str | None = None
    closed_at: datetime | None = None
    mergeable_computed_for: tuple[str, str] | None = None  # (base sha, head sha)
    queued: bool = False
    comments: list[str] = field(default_factory=list)


@dataclass
class Repository:
    owner: str
    name: str
    id: int
    store: GitStore
    default_branch: str
    required_checks: list[str] = field(default_factory=list)
    merge_queue: bool = False
    merge_queue_paused: bool = False
    ci: list[CiJob] = field(default_factory=list)
    # whether CI fails on a commit because of what it holds (e.g. a manifest that does not
    # build), whatever the jobs' outcome
    ci_fails: Callable[[str], bool] | None = None
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    statuses: list[CommitStatus] = field(default_factory=list)
    # the check runs by commit, and those still running: a month of a team's pushes is
    # thousands of runs, and each gate and CI tick wants a few (add_check_run keeps both)
    _runs_of: dict[str, list[CheckRun]] = field(default_factory=dict, repr=False)
    _running: list[CheckRun] = field(default_factory=list, repr=False)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def add_check_run(self, run: CheckRun) -> None:
        self._runs_of.setdefault(run.head_sha, []).append(run)
        if run.status != "completed":
            self._running.append(run)

    def runs_of(self, sha: str) -> list[CheckRun]:
        """The check runs on ``sha``, oldest first."""
        return list(self._runs_of.get(sha, ()))

    def running(self) -> list[CheckRun]:
        """The check runs not completed yet."""
        self._running = [run for run in self._running if run.status != "completed"]
        return list(self._running)


@dataclass
class Fault:
    """Answer matching requests with ``status`` (and headers) instead of handling them."""

    method: str  # "GET", "PUT", ... or "*"
    path: str  # a regular expression matched against the request path
    status: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "Server Error"


class State:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.RLock()
        self.apps: dict[int, App] = {}
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, Token] = {}
        self.repositories: dict[str, Repository] = {}
        self.faults: list[Fault] = []
        self.ids = itertools.count(1000)
        self.clock_offset = timedelta(0)
        self.frozen_at: datetime | None = None
        self.clock: Callable[[], datetime] | None = None  # the stack's clock, when it has one
        self.requests: list[tuple[str, str, int]] = []  # method, path, status

    def now(self) -> datetime:
        """The emulator's clock: real time, or frozen and moved by ``advance``."""
        base = self.frozen_at or (self.clock or (lambda: datetime.now(UTC)))()
        return (base + self.clock_offset).replace(microsecond=0)

    def next_id(self) -> int:
        return next(self.ids)
