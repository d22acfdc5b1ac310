"""From a reconcile report to one EnvironmentWake's ``status``: pure, no I/O.

Phase (for people): Scheduled before the wake's first action; Starting while the
environment is being woken for it; Awake (Extending past the normal stop) once held and
ready; Stopping from its stop until the reset; Completed after the reset (or after its
stop, when the normal schedule covered it all); Failed on a permanent failure.
Conditions (for machines): Ready (the summary), Valid, Awake, Synced, Failed; a
condition's ``lastTransitionTime`` changes only when its status flips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from envwake.planning import ActionKind, DesiredState, Plan, Wake
from envwake.reconciler.report import EnvironmentReport, Step

__all__ = ["STEPS_KEPT", "condition", "phase_of", "record_steps", "rfc3339", "wake_status"]

STEPS_KEPT = 100  # the CRD's maxItems for status.steps


def _chains_of(plan: Plan, wake: Wake) -> list[Any]:
    chains = []
    for chain in plan.chains:
        segments = [plan.segments[i] for i in chain.segments]
        if any(s.start < wake.stop and s.end > wake.start for s in segments):
            chains.append(chain)
    return chains


def phase_of(wake: Wake, report: EnvironmentReport) -> str:
    """The phase of ``wake`` after ``report``. Awake (and Extending) only when the
    environment was seen awake: every cluster available, every service ready."""
    now, plan = report.now, report.plan
    if report.failure is not None and not report.failure.transient:
        return "Failed"
    chains = _chains_of(plan, wake)
    if not chains:  # the normal schedule covers the whole wake
        if now >= wake.stop:
            return "Completed" if report.converged else "Stopping"
        if now < wake.start:
            return "Scheduled"
        return "Awake" if report.awake else "Starting"
    if now >= chains[-1].reset_at:
        return "Completed" if report.converged else "Stopping"
    # its own first segment: a wake chained to an earlier one (sharing its reset) has not
    # begun while the earlier one is being woken
    own = [s for s in plan.segments if s.start < wake.stop and s.end > wake.start]
    if now < min(min(s.action_at for s in own), wake.start):
        return "Scheduled"
    if now >= wake.stop:
        return "Stopping"
    if report.desired is not DesiredState.HOLD:
        return "Awake" if plan.in_normal_window(now) and report.awake else "Starting"
    if not report.converged or not report.awake:
        return "Starting"
    return (
        "Extending"
        if report.action is not None and report.action.kind is ActionKind.EXPAND
        else "Awake"
    )


def condition(
    type_: str,
    status: bool,
    reason: str,
    message: str,
    *,
    generation: int,
    now: datetime,
    previous: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """One condition; ``lastTransitionTime`` is kept from ``previous`` unless the status flips."""
    text = "True" if status else "False"
    before = next((c for c in previous if c.get("type") == type_), None)
    since = (
        before["lastTransitionTime"] if before and before.get("status") == text else rfc3339(now)
    )
    return {
        "type": type_,
        "status": text,
        "reason": reason,
        "message": message,
        "lastTransitionTime": since,
        "observedGeneration": generation,
    }


def wake_status(
    wake: Wake,
    report: EnvironmentReport,
    *,
    generation: int,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``status`` of one wake after a reconcile of its environment."""
    tz = report.plan.rules.timezone
    phase = phase_of(wake, report)
    old = list((previous or {}).get("conditions") or [])
    now = report.now
    failure = report.failure
    message = _message(wake, report, phase)
    chains = _chains_of(report.plan, wake)
    mine = {index for chain in chains for index in chain.segments}
    following = next((a for a in report.plan.actions if a.at > now and a.segment in mine), None)
    awake = phase in ("Awake", "Extending")
    late = report.normal_schedule_late and phase == "Starting"
    ready = failure is None and report.converged and phase != "Starting"
    conditions = [
        condition(
            "Ready",
            ready,
            failure.reason if failure else ("NormalScheduleLate" if late else phase),
            message,
            generation=generation,
            now=now,
            previous=old,
        ),
        condition(
            "Valid",
            True,
            "SpecValid",
            "the spec is valid for this environment's config",
            generation=generation,
            now=now,
            previous=old,
        ),
        condition(
            "Awake",
            awake,
            phase,
            f"{report.environment} is {phase.lower()} for this wake",
            generation=generation,
            now=now,
            previous=old,
        ),
        condition(
            "Synced",
            report.converged,
            "Synced" if report.converged else (failure.reason if failure else "Progressing"),
            "the environment matches the plan"
            if report.converged
            else (str(failure) if failure else "converging"),
            generation=generation,
            now=now,
            previous=old,
        ),
        condition(
            "Failed",
            phase == "Failed",
            failure.reason if failure else "Progressing",
            str(failure) if failure else "no permanent failure",
            generation=generation,
            now=now,
            previous=old,
        ),
    ]
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "phase": phase,
        "message": message,
        "effectiveStartAt": wake.start.astimezone(tz).isoformat(),
        "effectiveStopAt": wake.stop.astimezone(tz).isoformat(),
        "conditions": conditions,
        "pullRequests": [
            {
                "number": p.number,
                "url": p.url,
                "state": p.state,
                "action": p.action,
                "wave": p.wave,
                **({"mergeSHA": p.merge_sha} if p.merge_sha else {}),
            }
            for p in report.pull_requests
        ],
        "clusters": [
            {"id": c.id, "state": c.state, **({"account": c.account} if c.account else {})}
            for c in report.clusters
        ],
        "services": {"ready": report.services_ready, "total": report.services_total},
    }
    # A merge patch keeps what it does not name: what no longer applies is sent as None.
    status["resetAt"] = chains[-1].reset_at.astimezone(tz).isoformat() if chains else None
    status["nextAction"] = None
    if following is not None and phase not in ("Completed", "Failed"):
        local = following.at.astimezone(tz)
        status["nextAction"] = {
            "action": following.kind.value,
            "at": local.isoformat(),
            "description": f"{following.kind.value} {local:%Y-%m-%d %H:%M}",
        }
    return status


def record_steps(
    previous: Sequence[Mapping[str, Any]], steps: Sequence[Step], *, now: datetime
) -> list[dict[str, Any]]:
    """``status.steps`` after ``steps``: numbered on from the last one, the latest kept."""
    last = int(previous[-1].get("n", 0)) if previous else 0
    added = [
        {
            "n": last + i,
            "reason": s.reason,
            "message": s.message,
            "type": s.type,
            "at": rfc3339(now),
        }
        for i, s in enumerate(steps, start=1)
    ]
    return ([dict(p) for p in previous] + added)[-STEPS_KEPT:]


def _message(wake: Wake, report: EnvironmentReport, phase: str) -> str:
    env = report.environment
    if report.failure is not None:
        prefix = "will retry: " if report.failure.transient else ""
        return f"{prefix}{report.failure}"
    tz = report.plan.rules.timezone
    until = f"{wake.stop.astimezone(tz):%a %H:%M}"
    ready = f"{report.services_ready}/{report.services_total} services ready"
    if phase == "Starting" and report.normal_schedule_late and report.recheck_at:
        return (
            f"the normal schedule has not woken {env}: {'; '.join(report.not_up)}; "
            f"envwake holds it itself from {report.recheck_at.astimezone(tz):%a %H:%M}"
        )
    return {
        "Scheduled": f"{env} will be woken at {wake.start.astimezone(tz):%a %H:%M}",
        "Starting": f"waking {env}",
        "Awake": f"{env} is awake until {until} ({ready})",
        "Extending": f"{env} is kept up past its normal stop until {until}",
        "Stopping": f"{env} is going back to its normal schedule",
        "Completed": f"done: {env} is back on its normal schedule",
    }.get(phase, phase)


def rfc3339(instant: datetime) -> str:
    """RFC 3339 in UTC, to the second (the API conventions' timestamps)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
