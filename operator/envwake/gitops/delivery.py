"""Deliver a change set to the base branch: one commit, one pull request, merged only
when it is safe, and never twice.

What is done is read from the repository, not from pull-request history: a change is
delivered when the base branch holds it. (A merged pull request of last week's stop
proves nothing about tonight's.)

1. Clone the base (blobless, depth 1, sparse), apply the edits. Nothing changed: no
   commit, branch or pull request; an open one of ours is closed as no longer needed.
2. Push the commit to the action instance's branch with ``--force-with-lease``
   (skipped when the branch already holds the same change); adopt its open pull request
   after a restart, or open one.
3. Merge only when the head is the commit we pushed, every gating check (check runs
   AND commit statuses) is success/neutral/skipped, and GitHub says ``mergeable``;
   merge with the head-SHA guard, or enqueue where a merge queue is required.
4. Confirm ``merged``, record the merge commit, delete the branch.

One deadline (``Timing.check_timeout``) covers the whole delivery, every wait in it:
checks, mergeability, a required check GitHub expects, the merge queue, regenerations.
A failed check closes the pull request with a comment naming it; a base that moved
into a conflict, or a head someone else changed, regenerates the commit from the new
base (bounded).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from envwake import errors
from envwake.gitops.changes import ChangeSet
from envwake.gitops.github import GitHubSession, MergeRefused, Pull
from envwake.gitops.workingcopy import WorkingCopy
from envwake.manifests import FieldEdit
from envwake.model.environment import GitSettings

__all__ = ["UNKNOWN", "Delivery", "Timing", "deliver"]


class _Unknown:
    """Not looked up yet: ``deliver`` asks GitHub."""


UNKNOWN: Final = _Unknown()


@dataclass(frozen=True)
class Timing:
    """How long to wait for what; ``sleep`` and ``monotonic`` are injectable for tests."""

    check_timeout: float = 30 * 60
    poll: float = 10.0
    mergeable_poll: float = 2.0
    regenerations: int = 3
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    monotonic: Callable[[], float] = field(default=time.monotonic, repr=False)


@dataclass(frozen=True)
class Delivery:
    status: Literal["merged", "unchanged"]
    branch: str
    pull: Pull | None = None
    merge_sha: str | None = None
    changes: tuple[FieldEdit, ...] = ()
    regenerations: int = 0
    base_sha: str | None = None  # the base head that holds the change (unchanged: as read)


class _Regenerate(Exception):
    """The pushed commit cannot be merged as it is: build it again from the new base."""


def deliver(
    change: ChangeSet,
    *,
    session: GitHubSession,
    git: GitSettings,
    clone_url: str,
    workdir: Path,
    timing: Timing | None = None,
    on_step: Callable[[str, str], None] | None = None,
    open_pull: Pull | _Unknown | None = UNKNOWN,
) -> Delivery:
    """Deliver ``change``; ``on_step(reason, message)`` hears each step as it happens.
    ``open_pull``: the branch's open pull request when the caller knows it (None: none)."""
    timing = timing or Timing()
    step = on_step or (lambda reason, message: None)
    base = git.base_branch
    adopted = (
        session.open_pull(change.branch, base) if isinstance(open_pull, _Unknown) else open_pull
    )
    deadline = _Deadline(timing)
    rules: tuple[list[str], bool] | None = None

    for regeneration in range(timing.regenerations + 1):
        with tempfile.TemporaryDirectory(dir=workdir, prefix="envwake-") as scratch:
            copy = WorkingCopy.clone(
                url=clone_url,
                branch=base,
                paths=change.paths,
                token=session.token,
                directory=Path(scratch) / "repo",
            )
            changes = _apply(change, copy)
            if not any(c.changed for c in changes):
                if adopted is not None:
                    session.close(
                        adopted.number,
                        comment="envwake: the base branch already holds "
                        "these values; nothing to merge.",
                    )
                if adopted is not None or copy.remote_branch(change.branch) is not None:
                    session.delete_branch(change.branch)
                return Delivery(
                    "unchanged", change.branch, changes=tuple(changes), base_sha=copy.head
                )
            local = copy.commit(change.commit_message(changes), change.paths)
            remote = copy.remote_branch(change.branch)
            if remote is not None and copy.same_change(remote, local):
                head = remote
            else:
                copy.push(change.branch, lease=remote)
                head = local
                step("Pushed", f"pushed {change.branch} ({local[:12]})")

        if rules is None:
            rules = session.branch_rules(base)
        required, merge_queue = rules
        gating = list(git.checks) if git.checks is not None else required
        if adopted is None:
            pull = session.create_pull(
                branch=change.branch, base=base, title=change.title, body=change.body(changes)
            )
            step("PullRequestOpened", f"opened pull request #{pull.number} ({pull.url})")
        else:
            pull = adopted
        try:
            merged = _gate_and_merge(
                session, pull, head, gating, merge_queue, git, deadline, change, step
            )
        except _Regenerate:
            adopted = session.get_pull(pull.number)
            if adopted.state != "open":
                adopted = None
            continue
        except errors.GitOpsError as exc:  # the pull request it happened to goes with it
            closed = isinstance(exc, errors.ChecksFailed | errors.PullRequestClosed)
            exc.pull = (pull.number, pull.url, "closed" if closed else "open")
            raise
        step(
            "Merged", f"merged pull request #{merged.number} as {str(merged.merge_commit_sha)[:12]}"
        )
        session.delete_branch(change.branch)
        return Delivery(
            "merged",
            change.branch,
            merged,
            merged.merge_commit_sha,
            tuple(changes),
            regeneration,
            base_sha=merged.merge_commit_sha,
        )
    blocked = errors.MergeBlocked(
        f"{change.branch}: still not mergeable after {timing.regenerations} regenerations "
        "from a moving base branch"
    )
    if adopted is not None:
        blocked.pull = (adopted.number, adopted.url, "open")
    raise blocked


class _Deadline:
    """The one deadline of a delivery: every wait in it goes through ``wait``."""

    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        self.at = timing.monotonic() + timing.check_timeout

    def wait(self, seconds: float, *, number: int, what: list[str]) -> None:
        """Sleep ``seconds``, or raise ChecksTimedOut naming ``what`` once it is past."""
        if self.timing.monotonic() >= self.at:
            raise errors.ChecksTimedOut(
                f"pull request #{number}: {', '.join(what)} did not finish within "
                f"{self.timing.check_timeout:.0f}s",
                checks=what,
            )
        self.timing.sleep(seconds)


def _apply(change: ChangeSet, copy: WorkingCopy) -> list[FieldEdit]:
    texts: dict[str, str] = {}
    results = []
    for edit in change.edits:
        if edit.path not in texts:
            text = copy.read(edit.path)
            if text is None:
                raise errors.ManifestNotFound(f"{edit.path}: no such file on the base branch")
            texts[edit.path] = text
        result = edit.apply(texts[edit.path])
        texts[edit.path] = result.text
        results.append(result)
    for path, text in texts.items():
        copy.write(path, text)
    return results


def _gate_and_merge(
    session: GitHubSession,
    pull: Pull,
    head: str,
    gating: list[str],
    merge_queue: bool,
    git: GitSettings,
    deadline: _Deadline,
    change: ChangeSet,
    step: Callable[[str, str], None],
) -> Pull:
    timing = deadline.timing
    enqueued = False
    announced = False
    while True:
        current = session.get_pull(pull.number)
        if current.merged:
            return current
        if current.state != "open":
            raise errors.PullRequestClosed(
                f"pull request #{pull.number} ({current.url}) was closed without being merged"
            )
        if current.head_sha != head:
            raise _Regenerate  # someone pushed to our branch: never merge what is not ours

        checks = session.checks(head, gating)
        failed = next((c for c in checks if c.state == "failure"), None)
        if failed is not None:
            where = f" ({failed.url})" if failed.url else ""
            session.close(
                pull.number,
                comment=f"envwake: check `{failed.name}` failed{where}; nothing was merged. "
                f"The {change.action} of {change.environment} is reported as failed.",
            )
            session.delete_branch(change.branch)
            raise errors.ChecksFailed(
                f"check {failed.name} failed on pull request #{pull.number}{where}",
                check=failed.name,
                url=failed.url,
            )
        waiting = [c.name for c in checks if c.state in ("pending", "missing")]
        if waiting or current.mergeable is None:
            deadline.wait(
                timing.poll if waiting else timing.mergeable_poll,
                number=pull.number,
                what=waiting or ["mergeability"],
            )
            continue
        if current.mergeable is False:
            raise _Regenerate  # the base moved into a conflict
        if not announced:
            passed = ", ".join(gating) or "none required"
            step("ChecksPassed", f"checks passed on pull request #{pull.number} ({passed})")
            announced = True

        if merge_queue:
            if not enqueued:
                session.enqueue(current)
                enqueued = True
            deadline.wait(timing.poll, number=pull.number, what=["the merge queue"])
            continue
        try:
            session.merge(pull.number, sha=head, method=git.merge_method)
        except MergeRefused as refused:
            if refused.status == 409:
                raise _Regenerate from None
            message = refused.message.lower()
            if "merge queue" in message:
                merge_queue = True
                continue
            if "expected" in message:  # a required check GitHub knows of has not reported
                deadline.wait(timing.poll, number=pull.number, what=[_expected(refused.message)])
                continue
            if "not mergeable" in message:
                raise _Regenerate from None
            raise errors.MergeBlocked(
                f"GitHub refused to merge pull request #{pull.number}: {refused.message}"
            ) from None
        confirmed = session.get_pull(pull.number)
        if not confirmed.merged:
            raise errors.MergeBlocked(
                f"pull request #{pull.number} reports not merged after merging"
            )
        return confirmed


def _expected(message: str) -> str:
    """The check GitHub says it expects ('Required status check "build" is expected.')."""
    quoted = message.split('"')
    return f"required check {quoted[1]}" if len(quoted) >= 3 else "a required check"
