"""What one wake's status becomes after a reconcile, and what it should be told: pure.

- A wake is *involved* in a reconcile once it has begun (its phase is past Scheduled):
  it hears the steps of what was done for it. A Scheduled wake hears nothing yet; a
  wake that has ended and waits for its reset hears that reset, not the start or the
  stop of the wakes after it that share it (those are theirs, not a second night of
  its own).
- Events go out on transitions only: the steps a reconcile did, a change of phase that
  no step announced (a restarted operator finding the environment awake says Awake once),
  and a failure (or a late normal schedule) when it is new, not when it repeats.
- A step is told once per action: an operator restarted in the middle of one does again
  what it cannot know it finished (a cluster start asked for, the checks of the pull
  request it takes up) and comes to the same steps; the wake heard them already.
- Failed is sticky for a generation: the status keeps its failure while the environment
  still cleans up for the wake; changing the spec tries again.
- Finished (``finishedAt``) once Completed, or Failed with nothing left to do for it; a
  finished wake's status is never written again, and it is deleted after a while.
- The record (``status.restore``) is what envwake must remember across restarts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from envwake.planning import DesiredState, Wake
from envwake.reconciler.report import EnvironmentReport, Record, Step
from envwake.reconciler.status import rfc3339, wake_status

__all__ = [
    "FINAL",
    "heard_step",
    "hears",
    "involved",
    "next_status",
    "record_from_status",
    "record_status",
    "told_before",
    "transitions",
]

FINAL = frozenset({"Completed", "Failed"})
_PHASES = frozenset({"Scheduled", "Starting", "Awake", "Extending", "Stopping", "Completed"})


def involved(phase: str) -> bool:
    return phase != "Scheduled"


def hears(phase: str, planned: Wake, report: EnvironmentReport) -> bool:
    """Whether the steps of ``report`` were done for the wake ``planned`` (which of them:
    ``heard_step``). A wake that has ended hears its own stop and the reset it waits for,
    not what is done for the wakes after it that share that reset: their start (a hold,
    also inside a normal window when the normal schedule failed) or their stop."""
    if not involved(phase):
        return False
    if report.now < planned.stop:
        return True
    if report.desired is DesiredState.HOLD or report.record.held_since is not None:
        return False
    action = report.action
    if report.desired is DesiredState.ASLEEP and action is not None:
        return action.at <= _own_end(planned, report)
    return True


def heard_step(
    planned: Wake,
    report: EnvironmentReport,
    step: Step,
    status: Mapping[str, Any] | None = None,
) -> bool:
    """Whether ``step``, of a reconcile the wake hears, is its own: for a wake that has
    ended, the steps of a hold (a later wake's wake-up, found out only while the reconcile
    runs) and of a later wake's stop (carried out with the reset they share) are not; nor,
    once the wake's ``status`` says its own stop is done, a stop again (what a wake woke
    in between and was deleted or cancelled: that stop ends the other wake, not this one)."""
    if report.now < planned.stop:
        return True
    if step.of_hold:
        return False
    if step.stop_at is None:
        return True
    return step.stop_at <= _own_end(planned, report) and not (status and _slept(status, planned))


def _slept(status: Mapping[str, Any], planned: Wake) -> bool:
    """Whether the wake was told the environment is asleep after its stop."""
    return any(
        told.get("reason") == "Asleep"
        and datetime.fromisoformat(str(told.get("at"))) >= planned.stop
        for told in status.get("steps") or []
        if told.get("at")
    )


def _own_end(planned: Wake, report: EnvironmentReport) -> datetime:
    """Where the wake's own override ends: the end of its last segment (its stop)."""
    ends = [s.end for s in report.plan.segments if s.start < planned.stop and s.end > planned.start]
    return max(ends, default=planned.stop)


# The steps that end an action, and those that begin one, in a wake's steps
_ENDS = frozenset({"Awake", "Asleep", "Reset", "Completed"})
_BEGINS = frozenset({"Scheduled", "Starting", "Extending", "Stopping"})


def told_before(status: Mapping[str, Any], step: Step) -> bool:
    """Whether the wake was told ``step`` (its reason and message) already in the action
    under way: the step just told, or one since the last step that began or ended an
    action. (Starting a cluster again that someone stopped after the wake-up is news;
    the same start said again is not.)"""
    recorded = status.get("steps") or []
    if recorded and _said(recorded[-1]) == (step.reason, step.message):
        return True
    for told in reversed(recorded):
        if told.get("reason") in _ENDS:
            return False
        if _said(told) == (step.reason, step.message):
            return True
        if told.get("reason") in _BEGINS:
            return False
    return False


def _said(told: Mapping[str, Any]) -> tuple[Any, Any]:
    return told.get("reason"), told.get("message")


def record_status(record: Record) -> dict[str, Any] | None:
    """``status.restore`` for ``record`` (None removes it: nothing to remember)."""
    if not record:
        return None
    services = [
        {"service": key, "absent": True}
        if value is None
        else {"service": key, "minReplicaCount": value}
        for key, value in sorted(record.originals.items())
    ]
    data: dict[str, Any] = {"services": services}
    if record.held_since is not None:
        data["heldSince"] = rfc3339(record.held_since)
    return data


def record_from_status(status: Mapping[str, Any]) -> Record:
    data = status.get("restore") or {}
    originals: dict[str, int | None] = {}
    for item in data.get("services") or []:
        if not isinstance(item, Mapping) or not item.get("service"):
            continue
        value = item.get("minReplicaCount")
        originals[str(item["service"])] = None if item.get("absent") else int(value or 0)
    since = data.get("heldSince")
    return Record(originals, datetime.fromisoformat(str(since)) if since else None)


def next_status(
    planned: Wake,
    report: EnvironmentReport,
    *,
    generation: int,
    previous: Mapping[str, Any],
) -> dict[str, Any]:
    """The wake's whole new status (keys to clear are None, for a merge patch)."""
    status = wake_status(planned, report, generation=generation, previous=previous)
    sticky = previous.get("phase") == "Failed" and previous.get("observedGeneration") == generation
    if sticky and status["phase"] != "Failed":
        done = status["phase"] == "Completed"
        status["phase"] = "Failed"
        status["message"] = previous.get("message", status["message"])
        status["conditions"] = [dict(c) for c in previous.get("conditions") or status["conditions"]]
        if done:
            status["finishedAt"] = rfc3339(report.now)
    elif status["phase"] == "Completed" or (
        status["phase"] == "Failed" and not _still_needed(planned, report)
    ):
        status["finishedAt"] = rfc3339(report.now)
    status.setdefault("finishedAt", None)
    status["restore"] = None if status.get("finishedAt") else record_status(report.record)
    return status


def _still_needed(planned: Wake, report: EnvironmentReport) -> bool:
    """Whether the environment still has to put something back for this wake."""
    chains = [
        chain
        for chain in report.plan.chains
        if any(
            report.plan.segments[i].start < planned.stop
            and report.plan.segments[i].end > planned.start
            for i in chain.segments
        )
    ]
    return bool(chains) and report.now < chains[-1].reset_at


def transitions(
    previous: Mapping[str, Any],
    status: Mapping[str, Any],
    done: Sequence[Step],
) -> list[Step]:
    """The steps that announce what changed and no step of ``done`` said: a new failure
    (or late normal schedule), else a new phase."""
    said = {step.reason for step in done}
    out: list[Step] = []
    ready = _condition(status, "Ready")
    before = _condition(previous, "Ready")
    if (
        ready.get("status") == "False"
        and ready.get("reason") not in _PHASES
        and (ready.get("reason"), ready.get("message"))
        != (before.get("reason"), before.get("message"))
        and ready.get("reason") not in said
    ):
        out.append(Step(str(ready["reason"]), str(status.get("message") or ""), "Warning"))
    phase = str(status.get("phase") or "")
    new = phase != previous.get("phase") and phase in _PHASES and phase not in said
    if new and not out and (phase != "Scheduled" or previous.get("phase")):
        out.append(Step(phase, str(status.get("message") or phase)))
    return out


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), {})
