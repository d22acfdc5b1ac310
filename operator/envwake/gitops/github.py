"""GitHub, through PyGithub, for one run: a repository-scoped installation token minted
at the start and revoked at the end, whatever happens in between.

Retries are ours, not PyGithub's, so that waiting goes through an injected ``sleep``:
rate limits honour ``retry-after``, else ``x-ratelimit-reset``, within ``max_wait``
(longer waits become ``GitHubRateLimited`` for the caller to requeue); 5xx answers
and a GitHub that cannot be reached (refused, reset, timed out) are retried with
backoff, and a write is retried only after re-reading whether it already took effect;
a 401 gets one freshly minted token. Nothing but envwake's errors leaves a session.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TypeVar

import jwt
import requests
from github.PullRequest import PullRequest as GithubPull

from envwake import errors
from envwake.gitops.credentials import AppCredentials, Secret
from github import Auth, BadCredentialsException, Github, GithubException, GithubIntegration

__all__ = ["PERMISSIONS", "Check", "GitHubSession", "MergeRefused", "Pull"]

PERMISSIONS = {
    "contents": "write",
    "pull_requests": "write",
    "checks": "read",
    "statuses": "read",
    "metadata": "read",
}
T = TypeVar("T")


@dataclass(frozen=True)
class Pull:
    number: int
    url: str
    state: str
    merged: bool
    head_ref: str
    head_sha: str
    mergeable: bool | None
    merge_commit_sha: str | None
    node_id: str


@dataclass(frozen=True)
class Check:
    name: str
    state: Literal["pending", "success", "failure", "missing"]
    url: str | None


class MergeRefused(Exception):
    """GitHub refused a merge (405/409): the caller decides what it means."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def _pull(pr: GithubPull) -> Pull:
    return Pull(
        number=pr.number,
        url=pr.html_url,
        state=pr.state,
        merged=bool(pr.merged),
        head_ref=pr.head.ref,
        head_sha=pr.head.sha,
        mergeable=pr.mergeable,
        merge_commit_sha=pr.merge_commit_sha,
        node_id=pr.node_id,
    )


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    message = str(data.get("message", ""))
    details = [str(e.get("message", "")) for e in data.get("errors", []) if isinstance(e, dict)]
    return " ".join([message, *details]).strip()


class GitHubSession:
    def __init__(
        self,
        credentials: AppCredentials,
        repository: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        max_wait: float = 60.0,
        attempts: int = 4,
        spacing: bool = True,
    ) -> None:
        self.credentials = credentials
        self.repository = repository
        self.owner, self.name = repository.split("/")
        self.sleep = sleep
        self.monotonic = monotonic
        self.wall_clock = wall_clock
        self.max_wait = max_wait
        self.attempts = attempts
        # GitHub asks integrators to leave a second between writes (and not to burst
        # reads); kept on this session's clock, not PyGithub's, which sleeps on the wall
        # clock where the local stack's virtual time cannot see it. Tests turn it off.
        self._between_requests = 0.25 if spacing else 0.0
        self._between_writes = 1.0 if spacing else 0.0
        self._last_request = self._last_write = -math.inf
        self._token: Secret | None = None
        self._github: Github | None = None

    # -- token lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> GitHubSession:
        self.mint()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.revoke()

    @property
    def token(self) -> Secret:
        if self._token is None:
            raise errors.GitHubAuthFailed("no installation token: the session is not open")
        return self._token

    def mint(self) -> None:
        """A fresh installation token for this one repository, with just what envwake needs."""
        credentials = self.credentials

        def sign(payload: dict[str, Any]) -> str:
            return jwt.encode(payload, credentials.signing_key(), algorithm="RS256")  # type: ignore[arg-type]

        app = Auth.AppAuth(credentials.app_id, sign_func=sign)
        integration = GithubIntegration(
            auth=app,
            base_url=self.credentials.api_url,
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=None,
        )
        path = f"/app/installations/{self.credentials.installation_id}/access_tokens"
        body = {"repositories": [self.name], "permissions": PERMISSIONS}
        try:
            self._pace(write=True)
            _, data = integration.requester.requestJsonAndCheck("POST", path, input=body)
        except (jwt.PyJWTError, ValueError):  # the key cannot sign the App's JWT
            raise errors.CredentialsInvalid(
                f"the private key of GitHub App {self.credentials.app_id} cannot sign a JWT; "
                "give the App's PEM private key"
            ) from None
        except requests.RequestException as exc:
            raise errors.GitHubUnavailable(
                f"GitHub could not be reached for a token ({type(exc).__name__})"
            ) from None
        except GithubException as exc:
            if exc.status == 401:
                raise errors.GitHubAuthFailed(
                    f"GitHub refused the App's JWT (app {self.credentials.app_id}): {_message(exc)}"
                ) from None
            if exc.status in (404, 422):
                raise errors.CredentialsInvalid(
                    f"installation {self.credentials.installation_id} of app "
                    f"{self.credentials.app_id} cannot reach {self.repository}: {_message(exc)}"
                ) from None
            if exc.status >= 500:
                raise errors.GitHubUnavailable(
                    f"GitHub answered {exc.status} to a token request"
                ) from None
            raise errors.GitHubAuthFailed(
                f"token request refused ({exc.status}): {_message(exc)}"
            ) from None
        self._token = Secret(str(data["token"]))
        self._github = Github(
            auth=Auth.Token(self._token.reveal()),
            base_url=self.credentials.api_url,
            retry=None,
            lazy=True,
            seconds_between_requests=None,
            seconds_between_writes=None,
        )

    def revoke(self, *, best_effort: bool = False) -> None:
        """Revoke the token (``DELETE /installation/token``); safe to call twice."""
        if self._github is None:
            return
        github, self._github, self._token = self._github, None, None
        try:
            self._pace(write=True)
            github.requester.requestJsonAndCheck("DELETE", "/installation/token")
        except requests.RequestException:
            if not best_effort:
                raise errors.GitHubUnavailable(
                    "could not reach GitHub to revoke the installation token; "
                    "it expires within an hour"
                ) from None
        except GithubException as exc:
            if exc.status != 401 and not best_effort:  # already dead is fine
                raise errors.GitHubUnavailable(
                    f"could not revoke the installation token ({exc.status}); "
                    "it expires within an hour"
                ) from None

    # -- calling GitHub ------------------------------------------------------------------------

    def _call(
        self,
        what: str,
        action: Callable[[Github], T],
        *,
        reread: Callable[[Github], T | None] | None = None,
        write: bool = False,
    ) -> T:
        """``action``'s first request is a write when ``write``; an action that writes
        after its first request paces each write itself (``_pace``)."""
        refreshed = False
        for attempt in range(1, self.attempts + 1):
            if self._github is None:
                raise errors.GitHubAuthFailed("no installation token: the session is not open")
            try:
                self._pace(write=write)
                return action(self._github)
            except requests.RequestException as exc:  # unreachable: as a 5xx, tried again
                if attempt == self.attempts:
                    raise errors.GitHubUnavailable(
                        f"GitHub could not be reached {self.attempts} times while {what} "
                        f"({type(exc).__name__})"
                    ) from None
                self.sleep(min(2.0**attempt, self.max_wait))
                if reread is not None:
                    try:
                        done = reread(self._github)
                    except (requests.RequestException, GithubException):
                        done = None
                    if done is not None:
                        return done
                continue
            except GithubException as exc:
                # Any 401 (PyGithub names only "Bad credentials" BadCredentialsException).
                if isinstance(exc, BadCredentialsException) or exc.status == 401:
                    if refreshed:
                        raise errors.GitHubAuthFailed(
                            f"GitHub refused a fresh installation token while {what}"
                        ) from None
                    refreshed = True
                    self.revoke(best_effort=True)  # most likely dead already; make sure
                    self.mint()
                    continue
                wait = self._rate_limit_wait(exc, attempt)
                if wait is not None:
                    if wait > self.max_wait or attempt == self.attempts:
                        raise errors.GitHubRateLimited(
                            f"GitHub rate limit while {what}: retry in {wait:.0f}s",
                            retry_after=wait,
                        ) from None
                    self.sleep(wait)
                    continue
                if exc.status < 500:
                    message = _message(exc) or "no message"
                    raise errors.GitHubRequestRejected(
                        f"GitHub answered {exc.status} while {what}: {message}"
                    ) from None
                if attempt == self.attempts:
                    raise errors.GitHubUnavailable(
                        f"GitHub answered {exc.status} {self.attempts} times while {what}"
                    ) from None
                self.sleep(min(2.0**attempt, self.max_wait))
                if reread is not None:  # a write may have taken effect before the 5xx
                    done = reread(self._github)
                    if done is not None:
                        return done
        raise AssertionError("unreachable")

    def _pace(self, *, write: bool) -> None:
        """Wait until the next request may go: a quarter second after the last one, and
        a write a second after the last write."""
        due = self._last_request + self._between_requests
        if write:
            due = max(due, self._last_write + self._between_writes)
        wait = due - self.monotonic()
        if wait > 0:
            self.sleep(wait)
        self._last_request = now = self.monotonic()
        if write:
            self._last_write = now

    def _rate_limit_wait(self, exc: GithubException, attempt: int) -> float | None:
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        message = _message(exc).lower()
        limited = exc.status == 429 or (
            exc.status == 403
            and (
                "retry-after" in headers
                or headers.get("x-ratelimit-remaining") == "0"
                or "rate limit" in message
            )
        )
        if not limited:
            return None
        if "retry-after" in headers:
            return float(headers["retry-after"])
        if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
            return max(float(headers["x-ratelimit-reset"]) - self.wall_clock(), 0.0) + 1.0
        return float(60 * 2 ** (attempt - 1))  # secondary limit, no headers: a minute, doubling

    def _repo(self, github: Github) -> Any:
        return github.get_repo(self.repository)  # the client is lazy: no request

    # -- pull requests ---------------------------------------------------------------------------

    def find_pulls(self, branch: str, base: str) -> list[Pull]:
        """Pull requests from ``branch`` into ``base``, newest first, in any state."""

        def action(github: Github) -> list[Pull]:
            pulls = self._repo(github).get_pulls(
                state="all", head=f"{self.owner}:{branch}", base=base
            )
            return [_pull(p) for p in pulls]

        return self._call(f"listing pull requests of {branch}", action)

    def open_pull(self, branch: str, base: str) -> Pull | None:
        """The open pull request from ``branch`` into ``base``, if there is one."""

        def action(github: Github) -> Pull | None:
            pulls = self._repo(github).get_pulls(
                state="open", head=f"{self.owner}:{branch}", base=base
            )
            return next((_pull(p) for p in pulls), None)

        return self._call(f"looking for the open pull request of {branch}", action)

    def branches(self, prefix: str) -> dict[str, str]:
        """Every branch whose name starts with ``prefix``, with its head commit (one call:
        ``git/matching-refs``)."""

        def action(github: Github) -> dict[str, str]:
            url = f"{self._repo(github).url}/git/matching-refs/heads/{prefix}"
            _, refs = github.requester.requestJsonAndCheck("GET", url)
            return {
                str(ref["ref"]).removeprefix("refs/heads/"): str(ref["object"]["sha"])
                for ref in refs or []
            }

        return self._call(f"listing the branches {prefix}*", action)

    def contains(self, descendant: str, ancestor: str) -> bool:
        """Whether commit ``descendant`` is ``ancestor`` or comes after it (one compare)."""
        if descendant == ancestor:
            return True

        def action(github: Github) -> bool:
            url = f"{self._repo(github).url}/compare/{ancestor}...{descendant}"
            try:
                _, data = github.requester.requestJsonAndCheck(
                    "GET", url, parameters={"per_page": 1}
                )
            except GithubException as exc:
                if exc.status == 404:  # a commit this repository does not have
                    return False
                raise
            return str(data.get("status")) in ("ahead", "identical")

        return self._call(f"comparing {ancestor[:12]} with {descendant[:12]}", action)

    def get_pull(self, number: int) -> Pull:
        return self._call(
            f"reading pull request #{number}", lambda g: _pull(self._repo(g).get_pull(number))
        )

    def create_pull(self, *, branch: str, base: str, title: str, body: str) -> Pull:
        def existing(github: Github) -> Pull | None:
            pulls = self._repo(github).get_pulls(
                state="open", head=f"{self.owner}:{branch}", base=base
            )
            return next((_pull(p) for p in pulls), None)

        def action(github: Github) -> Pull:
            try:
                return _pull(
                    self._repo(github).create_pull(base=base, head=branch, title=title, body=body)
                )
            except GithubException as exc:
                if exc.status == 422 and "already exists" in _message(exc):
                    found = existing(github)
                    if found is not None:
                        return found
                raise

        return self._call(
            f"opening a pull request from {branch}", action, reread=existing, write=True
        )

    def merge(self, number: int, *, sha: str, method: str) -> str:
        """Merge with the head-SHA guard; returns the merge commit. Raises MergeRefused."""

        def merged(github: Github) -> str | None:
            pr = self._repo(github).get_pull(number)
            return str(pr.merge_commit_sha) if pr.merged else None

        def action(github: Github) -> str:
            try:
                pull = self._repo(github).get_pull(number)
                self._pace(write=True)
                status = pull.merge(merge_method=method, sha=sha)
            except GithubException as exc:
                if exc.status in (405, 409):
                    raise MergeRefused(exc.status, _message(exc)) from None
                raise
            return str(status.sha)

        return self._call(f"merging pull request #{number}", action, reread=merged)

    def close(self, number: int, *, comment: str) -> None:
        def action(github: Github) -> None:
            pr = self._repo(github).get_pull(number)
            self._pace(write=True)
            pr.create_issue_comment(comment)
            self._pace(write=True)
            pr.edit(state="closed")

        self._call(f"closing pull request #{number}", action)

    def delete_branch(self, branch: str) -> None:
        """Delete ``branch``; one that is already gone is fine."""

        def action(github: Github) -> None:
            url = f"{self._repo(github).url}/git/refs/heads/{branch}"
            try:
                github.requester.requestJsonAndCheck("DELETE", url)
            except GithubException as exc:
                if exc.status not in (404, 422):
                    raise

        self._call(f"deleting branch {branch}", action, write=True)

    def enqueue(self, pull: Pull) -> None:
        """Put a pull request in the base branch's merge queue (GraphQL)."""

        def action(github: Github) -> None:
            github.requester.graphql_named_mutation(
                "enqueuePullRequest",
                {"pullRequestId": pull.node_id},
                "mergeQueueEntry { id state }",
            )

        self._call(f"enqueueing pull request #{pull.number}", action, write=True)

    # -- checks ---------------------------------------------------------------------------------

    def branch_rules(self, branch: str) -> tuple[list[str], bool]:
        """The required check names of ``branch``, and whether it requires a merge queue."""

        def action(github: Github) -> tuple[list[str], bool]:
            url = f"{self._repo(github).url}/rules/branches/{branch}"
            _, rules = github.requester.requestJsonAndCheck("GET", url)
            names: list[str] = []
            queue = False
            for rule in rules or []:
                if rule.get("type") == "required_status_checks":
                    names += [c["context"] for c in rule["parameters"]["required_status_checks"]]
                queue = queue or rule.get("type") == "merge_queue"
            return sorted(set(names)), queue

        return self._call(f"reading the rules of {branch}", action)

    def checks(self, sha: str, names: list[str]) -> list[Check]:
        """Each named check on ``sha``, from check runs AND commit statuses."""

        def action(github: Github) -> list[Check]:
            url = self._repo(github).url
            _, runs = github.requester.requestJsonAndCheck(
                "GET",
                f"{url}/commits/{sha}/check-runs",
                parameters={"filter": "latest", "per_page": 100},
            )
            _, combined = github.requester.requestJsonAndCheck("GET", f"{url}/commits/{sha}/status")
            found: list[Check] = []
            for name in names:
                states: list[tuple[str, str | None]] = []
                for run in runs["check_runs"]:
                    if run["name"] == name:
                        if run["status"] != "completed":
                            states.append(("pending", run.get("html_url")))
                        elif run["conclusion"] in ("success", "neutral", "skipped"):
                            states.append(("success", run.get("html_url")))
                        else:
                            states.append(("failure", run.get("html_url")))
                for status in combined["statuses"]:
                    if status["context"] == name:
                        state = {"success": "success", "pending": "pending"}.get(
                            status["state"], "failure"
                        )
                        states.append((state, status.get("target_url")))
                if not states:
                    found.append(Check(name, "missing", None))
                elif any(s == "failure" for s, _ in states):
                    found.append(
                        Check(name, "failure", next(u for s, u in states if s == "failure"))
                    )
                elif any(s == "pending" for s, _ in states):
                    found.append(Check(name, "pending", states[0][1]))
                else:
                    found.append(Check(name, "success", states[0][1]))
            return found

        return self._call(f"reading the checks of {sha[:12]}", action)
