"""A team that works in the Flux repository while envwake does, through the GitHub
emulator: every few virtual minutes in working hours (rarely at night) someone opens a
pull request, waits for CI and squash-merges it. Some touch the manifests envwake edits,
on other lines (a comment at the top of a ScaledObject or Deployment); some touch files
of their own; some hold a manifest that does not build, so CI fails on them and they
stay open, as abandoned work does. A merge refused because the base moved is redone on
the new base, as people do.

What the team did is kept, so that a soak can check envwake left it alone: the commits
merged (each must stay in the base branch's history), the line each touched manifest
must still carry, the files of their own, and each pull request as the team left it.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from envwake.model.loading import Environment
from envwake.sandbox.github.service import GitHubService, HttpError
from envwake.sandbox.github.state import PullRequest, Repository

__all__ = ["TEAM_USER", "Team", "TeamPull"]

logger = logging.getLogger("envwake.sandbox.team")
TEAM_USER = "shop-team"
BROKEN_PREFIX = "wip/"  # CI fails on a commit holding a file under it (it does not build)


@dataclass
class TeamPull:
    number: int
    branch: str
    files: dict[str, str]  # what the change writes
    breaks_ci: bool
    left: str = "open"  # open, merged, or closed (by the team)
    head_sha: str = ""


@dataclass
class Team:
    service: GitHubService
    repository: str
    environment: Environment
    rng: random.Random
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Tokyo"))
    every_minutes: float = 12.0  # on average, in working hours
    night_every_minutes: float = 240.0  # on average, outside them
    broken_share: float = 0.1  # of the pull requests, the share CI fails on
    pulls: dict[int, TeamPull] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)  # merge commits, in order
    lines: dict[str, str] = field(default_factory=dict)  # manifest: the line it must carry
    own_files: dict[str, str] = field(default_factory=dict)  # path: text
    _next_at: datetime | None = None
    _count: int = 0

    def __post_init__(self) -> None:
        repo = self.repo
        repo.ci_fails = lambda sha: any(
            path.startswith(BROKEN_PREFIX)
            for path in repo.store.git("ls-tree", "-r", "--name-only", sha).splitlines()
        )

    @property
    def repo(self) -> Repository:
        return self.service.state.repositories[self.repository]

    def working_hours(self, now: datetime) -> bool:
        local = now.astimezone(self.timezone)
        return local.weekday() < 5 and 9 <= local.hour < 19

    def tick(self, now: datetime) -> None:
        """What the team does by ``now``: merge what is green, open new work when due."""
        with self.service.state.lock:
            self.service.refresh(self.repo)
            for pull in list(self.pulls.values()):
                if pull.left == "open" and not pull.breaks_ci:
                    self._try_merge(pull)
            if self._next_at is None:
                self._next_at = now
            if now >= self._next_at:
                self._open_work()
                mean = self.every_minutes if self.working_hours(now) else self.night_every_minutes
                self._next_at = now + timedelta(minutes=self.rng.expovariate(1 / mean))

    @property
    def next_at(self) -> datetime | None:
        """When the team opens its next piece of work."""
        return self._next_at

    def ci_due(self) -> list[datetime]:
        """When CI finishes on the team's open pull requests."""
        repo = self.repo
        with self.service.state.lock:
            heads = {repo.pulls[p.number].head_sha for p in self.pulls.values() if p.left == "open"}
            return [
                run.due for run in repo.running()
                if run.head_sha in heads and run.due is not None
            ]  # fmt: skip

    # -- the work --------------------------------------------------------------------------

    def _open_work(self) -> None:
        self._count += 1
        n = self._count
        repo = self.repo
        base = repo.default_branch
        breaks = self.rng.random() < self.broken_share
        if breaks:
            files = {f"{BROKEN_PREFIX}draft-{n}.yaml": "kind: ConfigMap\nmetadata: {name: [\n"}
        elif self.rng.random() < 0.5:
            service = self.rng.choice(self.environment.services)
            paths = [service.manifest.scaled_object.path]
            if service.manifest.deployment is not None:
                paths.append(service.manifest.deployment.path)
            path = self.rng.choice(paths)
            files = {path: self._with_note(repo.store.read_file(base, path), n)}
        else:
            files = {f"docs/notes/{n:04d}.md": f"# Note {n}\n\nWritten by the team.\n"}
        branch = f"team/change-{n}"
        head = repo.store.ref(base)
        assert head is not None
        repo.store.set_ref(branch, head, expected=None)
        sha = repo.store.commit_files(branch, files, f"Team change {n}")
        pr = self.service.open_pull(
            repo, head=branch, base=base, title=f"Team change {n}", body=None, user=TEAM_USER
        )
        self.pulls[pr.number] = TeamPull(pr.number, branch, files, breaks, head_sha=sha)

    def _with_note(self, text: str, n: int) -> str:
        newline = "\r\n" if "\r\n" in text else "\n"
        note = f"# last touched by the team: change {n}"
        first, _, rest = text.partition(newline)
        if first.startswith("# last touched by the team"):
            return note + newline + rest
        return note + newline + text

    def _try_merge(self, pull: TeamPull) -> None:
        repo = self.repo
        pr = repo.pulls[pull.number]
        if pr.state != "open" or self.service.gate(repo, pr.head_sha)[0] != "green":
            return
        try:
            merged = self.service.merge(repo, pr, method="squash", sha=pr.head_sha)
        except HttpError:  # the base moved into a conflict: redo the change on the new base
            self._redo(pull, pr)
            return
        pull.left = "merged"
        self.merged.append(merged)
        repo.store.delete_ref(pull.branch)
        for path, text in pull.files.items():
            if path.startswith("docs/"):
                self.own_files[path] = text
            else:
                self.lines[path] = text.splitlines()[0]

    def _redo(self, pull: TeamPull, pr: PullRequest) -> None:
        repo = self.repo
        base = repo.default_branch
        files = {
            path: (
                self._with_note(repo.store.read_file(base, path), int(pull.branch.rsplit("-")[-1]))
                if not path.startswith("docs/")
                else text
            )
            for path, text in pull.files.items()
        }
        head = repo.store.ref(base)
        assert head is not None
        before = repo.store.refs()
        repo.store.set_ref(pull.branch, head, expected=before.get(pull.branch))
        pull.head_sha = repo.store.commit_files(pull.branch, files, pr.title)
        pull.files = files
        self.service.after_push(repo, before)

    def close_abandoned(self) -> None:
        """The team closes its own pull requests CI failed on (at the end of a soak)."""
        with self.service.state.lock:
            for pull in self.pulls.values():
                pr = self.repo.pulls[pull.number]
                if pull.left == "open" and pr.state == "open" and pull.breaks_ci:
                    pr.state, pr.closed_at = "closed", self.service.state.now()
                    pull.left = "closed"
