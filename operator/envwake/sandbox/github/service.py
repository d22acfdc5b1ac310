"""The emulator's behaviour, apart from HTTP: every method works on ``State``."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from envwake.sandbox import leaks
from envwake.sandbox.github.gitstore import GitStore, MergeConflict
from envwake.sandbox.github.state import (
    App,
    CheckRun,
    CiJob,
    CommitStatus,
    Fault,
    Installation,
    PullRequest,
    Repository,
    State,
    Token,
)

__all__ = ["GitHubService", "HttpError"]

TERMINAL_GREEN = {"success", "neutral", "skipped"}


@dataclass
class HttpError(Exception):
    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    errors: list[dict[str, str]] | None = None


class GitHubService:
    def __init__(self, state: State) -> None:
        self.state = state

    # -- set-up (what a test or the demo does) ---------------------------------------------

    def create_app(self, slug: str = "envwake") -> tuple[int, bytes]:
        """A GitHub App; returns its id and its private key (PEM)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with self.state.lock:
            app = App(self.state.next_id(), slug, public)
            self.state.apps[app.id] = app
        leaks.remember(private.decode())
        return app.id, private

    def install(self, app_id: int, account: str, repositories: list[str]) -> int:
        with self.state.lock:
            installation = Installation(self.state.next_id(), app_id, account, set(repositories))
            self.state.installations[installation.id] = installation
            return installation.id

    def create_repository(
        self,
        full_name: str,
        *,
        files: dict[str, str] | None = None,
        default_branch: str = "master",
        required_checks: list[str] | None = None,
        ci: list[CiJob] | None = None,
        merge_queue: bool = False,
    ) -> Repository:
        owner, name = full_name.split("/")
        path = self.state.root / "repos" / owner / f"{name}.git"
        path.parent.mkdir(parents=True, exist_ok=True)
        store = GitStore.create(path, default_branch=default_branch)
        if files:
            store.commit_files(default_branch, files, "Initial commit")
        with self.state.lock:
            repo = Repository(
                owner=owner,
                name=name,
                id=self.state.next_id(),
                store=store,
                default_branch=default_branch,
                required_checks=list(required_checks or []),
                merge_queue=merge_queue,
                ci=list(ci or []),
            )
            self.state.repositories[full_name] = repo
            return repo

    def repository_path(self, full_name: str) -> Path:
        return self.repository(full_name).store.path

    def push_to_base(self, full_name: str, files: Mapping[str, str | None], message: str) -> str:
        """Someone else commits to the base branch (it moves under our pull requests)."""
        with self.state.lock:
            repo = self.repository(full_name)
            return repo.store.commit_files(repo.default_branch, files, message)

    def inject(self, fault: Fault) -> None:
        with self.state.lock:
            self.state.faults.append(fault)

    def freeze_clock(self, at: datetime | None = None) -> None:
        with self.state.lock:
            self.state.frozen_at = at or datetime.now(UTC)
            self.state.clock_offset = timedelta(0)

    def use_clock(self, clock: Callable[[], datetime]) -> None:
        """Tell time by ``clock`` (the local stack's) instead of the wall clock."""
        with self.state.lock:
            self.state.clock, self.state.frozen_at = clock, None

    def advance(self, seconds: float) -> None:
        with self.state.lock:
            self.state.clock_offset += timedelta(seconds=seconds)

    # -- authentication ----------------------------------------------------------------------

    def app_from_jwt(self, token: str) -> App:
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
            app = self.state.apps[int(claims["iss"])]
            jwt.decode(token, app.public_key_pem, algorithms=["RS256"], leeway=60)
        except (jwt.PyJWTError, KeyError, ValueError):
            raise HttpError(401, "A JSON web token could not be decoded") from None
        return app

    def token(self, value: str) -> Token:
        token = self.state.tokens.get(value)
        if token is None or token.revoked or token.expires_at <= datetime.now(UTC):
            raise HttpError(401, "Bad credentials")
        return token

    def issue_token(
        self,
        app: App,
        installation_id: int,
        repositories: list[str] | None,
        permissions: dict[str, str] | None,
    ) -> Token:
        installation = self.state.installations.get(installation_id)
        if installation is None or installation.app_id != app.id:
            raise HttpError(404, "Not Found")
        names = {f"{installation.account}/{name}" for name in repositories or []}
        if not names <= installation.repositories:
            raise HttpError(
                422,
                "There is at least one repository that does not exist or is not accessible "
                "to the parent installation.",
            )
        value = "ghs_" + secrets.token_urlsafe(27).replace("-", "A").replace("_", "B")[:36]
        leaks.remember(value)
        token = Token(
            value=value,
            installation_id=installation_id,
            repositories=names or set(installation.repositories),
            permissions=dict(
                permissions
                or {
                    "contents": "write",
                    "pull_requests": "write",
                    "checks": "read",
                    "statuses": "read",
                }
            ),
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )
        self.state.tokens[token.value] = token
        return token

    def authorize(self, token: Token, full_name: str, permission: str, level: str) -> Repository:
        repo = self.state.repositories.get(full_name)
        if repo is None or full_name not in token.repositories:
            raise HttpError(404, "Not Found")
        granted = token.permissions.get(permission)
        if granted is None or (level == "write" and granted != "write"):
            raise HttpError(403, "Resource not accessible by integration")
        return repo

    def repository(self, full_name: str) -> Repository:
        try:
            return self.state.repositories[full_name]
        except KeyError:
            raise HttpError(404, "Not Found") from None

    # -- faults ------------------------------------------------------------------------------

    def fault_for(self, method: str, path: str) -> Fault | None:
        with self.state.lock:
            for fault in self.state.faults:
                if (
                    fault.times > 0
                    and fault.method in ("*", method)
                    and re.search(fault.path, path)
                ):
                    fault.times -= 1
                    return fault
        return None

    # -- CI and checks -------------------------------------------------------------------------

    def start_ci(self, repo: Repository, sha: str) -> None:
        now = self.state.now()
        fails = repo.ci_fails is not None and repo.ci_fails(sha)
        for job in repo.ci:
            due = None if job.outcome == "hang" else now + timedelta(seconds=job.seconds)
            if job.kind == "check_run":
                repo.add_check_run(
                    CheckRun(
                        self.state.next_id(),
                        sha,
                        job.name,
                        "in_progress",
                        None,
                        now,
                        None,
                        due,
                        fails=fails,
                    )
                )
            else:
                final = "success" if job.outcome == "success" and not fails else "failure"
                repo.statuses.append(
                    CommitStatus(
                        self.state.next_id(),
                        sha,
                        job.name,
                        "pending",
                        f"https://ci.example.com/{sha[:7]}/{job.name}",
                        "running",
                        now,
                        due,
                        final,
                    )
                )

    def _outcome(self, repo: Repository, name: str) -> str:
        return next((j.outcome for j in repo.ci if j.name == name), "success")

    def refresh(self, repo: Repository) -> None:
        """Finish the simulated CI jobs that are due, and work the merge queue."""
        now = self.state.now()
        for run in repo.running():
            if run.due is not None and run.due <= now:
                run.status, run.completed_at = "completed", run.due
                green = self._outcome(repo, run.name) == "success" and not run.fails
                run.conclusion = "success" if green else "failure"
        for status in repo.statuses:
            if status.state == "pending" and status.due is not None and status.due <= now:
                status.state = status.final_state or "success"
                status.description = f"CI {status.state}"
        for pr in repo.pulls.values():
            if repo.merge_queue_paused:
                break  # the queue's own checks never report (a stalled queue)
            if pr.queued and pr.state == "open" and self.gate(repo, pr.head_sha)[0] == "green":
                try:
                    self.merge(repo, pr, method="merge", sha=pr.head_sha, via_queue=True)
                except HttpError:
                    pr.queued = False

    def latest_runs(self, repo: Repository, sha: str) -> list[CheckRun]:
        latest: dict[str, CheckRun] = {}
        for run in repo.runs_of(sha):
            latest[run.name] = run
        return list(latest.values())

    def latest_statuses(self, repo: Repository, sha: str) -> list[CommitStatus]:
        latest: dict[str, CommitStatus] = {}
        for status in repo.statuses:
            if status.sha == sha:
                latest[status.context] = status
        return sorted(latest.values(), key=lambda s: s.context)

    def gate(self, repo: Repository, sha: str) -> tuple[str, str | None]:
        """green / pending / failed for the required checks on ``sha``, and the first culprit."""
        runs = {r.name: r for r in self.latest_runs(repo, sha)}
        statuses = {s.context: s for s in self.latest_statuses(repo, sha)}
        pending = None
        for name in repo.required_checks:
            run, status = runs.get(name), statuses.get(name)
            if run is None and status is None:
                pending = pending or name
            if run is not None:
                if run.status != "completed":
                    pending = pending or name
                elif run.conclusion not in TERMINAL_GREEN:
                    return "failed", name
            if status is not None:
                if status.state == "pending":
                    pending = pending or name
                elif status.state != "success":
                    return "failed", name
        return ("pending", pending) if pending else ("green", None)

    # -- pull requests -------------------------------------------------------------------------

    def open_pull(
        self, repo: Repository, *, head: str, base: str, title: str, body: str | None, user: str
    ) -> PullRequest:
        head_sha = repo.store.ref(head)
        if head_sha is None:
            raise HttpError(
                422,
                "Validation Failed",
                errors=[{"resource": "PullRequest", "field": "head", "code": "invalid"}],
            )
        if repo.store.ref(base) is None:
            raise HttpError(
                422,
                "Validation Failed",
                errors=[{"resource": "PullRequest", "field": "base", "code": "invalid"}],
            )
        for pr in repo.pulls.values():
            if pr.state == "open" and pr.head == head and pr.base == base:
                raise HttpError(
                    422,
                    "Validation Failed",
                    errors=[
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for {repo.owner}:{head}.",
                        }
                    ],
                )
        now = self.state.now()
        number = len(repo.pulls) + 1
        pr = PullRequest(
            number, self.state.next_id(), title, body, head, head_sha, base, user, now, now
        )
        repo.pulls[number] = pr
        self.start_ci(repo, head_sha)
        return pr

    def after_push(self, repo: Repository, before: dict[str, str]) -> None:
        """React to a push: open pull requests on moved branches get the new head and CI."""
        after = repo.store.refs()
        for pr in repo.pulls.values():  # a deleted head branch closes its pull request
            if pr.state == "open" and pr.head in before and pr.head not in after:
                pr.state, pr.closed_at = "closed", self.state.now()
        for branch, sha in after.items():
            if before.get(branch) == sha:
                continue
            for pr in repo.pulls.values():
                if pr.state == "open" and pr.head == branch:
                    pr.head_sha, pr.updated_at = sha, self.state.now()
                    pr.mergeable_computed_for = None
                    self.start_ci(repo, sha)

    def mergeability(self, repo: Repository, pr: PullRequest) -> tuple[bool | None, str]:
        """Like GitHub: ``None`` on the first look at a new (base, head) pair, then the answer."""
        if pr.state != "open":
            return None, "unknown"
        base_sha = repo.store.ref(pr.base) or ""
        key = (base_sha, pr.head_sha)
        if pr.mergeable_computed_for != key:
            pr.mergeable_computed_for = key
            return None, "unknown"
        try:
            repo.store.merge_tree(base_sha, pr.head_sha)
        except MergeConflict:
            return False, "dirty"
        verdict, _ = self.gate(repo, pr.head_sha)
        if verdict == "failed":
            return True, "blocked"
        if verdict == "pending":
            return True, "blocked"
        return True, "clean"

    def merge(
        self,
        repo: Repository,
        pr: PullRequest,
        *,
        method: str,
        sha: str | None,
        via_queue: bool = False,
    ) -> str:
        if pr.state != "open":
            raise HttpError(405, "Pull Request is not mergeable")
        if sha is not None and sha != pr.head_sha:
            raise HttpError(409, "Head branch was modified. Review and try the merge again.")
        if repo.merge_queue and not via_queue:
            raise HttpError(405, "Changes must be made through the merge queue")
        verdict, culprit = self.gate(repo, pr.head_sha)
        if verdict == "pending":
            raise HttpError(405, f'Required status check "{culprit}" is expected.')
        if verdict == "failed":
            raise HttpError(405, f'Required status check "{culprit}" is failing.')
        base_sha = repo.store.ref(pr.base)
        assert base_sha is not None
        try:
            tree = repo.store.merge_tree(base_sha, pr.head_sha)
        except MergeConflict:
            raise HttpError(405, "Pull Request is not mergeable") from None
        title = f"{pr.title} (#{pr.number})"
        if method == "merge":
            message = f"Merge pull request #{pr.number} from {repo.owner}/{pr.head}\n\n{pr.title}"
            merged = repo.store.commit_tree(tree, [base_sha, pr.head_sha], message)
        elif method == "squash":
            merged = repo.store.commit_tree(tree, [base_sha], f"{title}\n\n{pr.body or ''}".strip())
        else:  # rebase: our branches carry one commit; replay it on the base
            merged = repo.store.commit_tree(tree, [base_sha], repo.store.message(pr.head_sha))
        repo.store.set_ref(pr.base, merged, expected=base_sha)
        now = self.state.now()
        pr.merged, pr.merged_at, pr.merge_commit_sha = True, now, merged
        pr.state, pr.closed_at, pr.updated_at, pr.queued = "closed", now, now, False
        return merged
