"""A plan as text and as JSON-ready data, for people (CLI, Slack) and tools."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from envwake.model.loading import Environment
from envwake.planning.plan import Action, ActionKind, Plan, StopReason
from envwake.planning.rules import Rules
from envwake.planning.waves import Wave, start_waves, stop_waves

__all__ = ["plan_as_data", "timeline_lines", "waves_for"]


def waves_for(environment: Environment, action: Action) -> list[Wave]:
    if action.kind in (ActionKind.START, ActionKind.EXPAND):
        return start_waves(environment)
    if action.kind is ActionKind.STOP:
        return stop_waves(environment)
    return []


def plan_as_data(environment: Environment, plan: Plan, *, now: datetime) -> dict[str, Any]:
    tz = plan.rules.timezone

    def local(instant: datetime) -> str:
        return instant.astimezone(tz).isoformat()

    following = plan.next_action(now)
    return {
        "environment": environment.name,
        "timezone": environment.config.timezone,
        "now": now.astimezone(tz).isoformat(),
        "state": plan.state_at(now).value,
        "wakes": [
            {
                "name": w.name,
                "start": local(w.start),
                "stop": local(w.stop),
                "stopIsDefault": w.stop_is_default,
                "stopReason": w.stop_reason.value,
            }
            for w in plan.wakes
        ],
        "segments": [
            {
                "start": local(s.start),
                "end": local(s.end),
                "extendsNormalWindow": s.extends_normal_window,
                "handsOver": s.hands_over,
            }
            for s in plan.segments
        ],
        "actions": [_action_data(environment, a, local(a.at)) for a in plan.actions],
        "nextAction": _action_data(environment, following, local(following.at))
        if following
        else None,
    }


def _action_data(environment: Environment, action: Action, at: str) -> dict[str, Any]:
    return {
        "action": action.kind.value,
        "at": at,
        "waves": [
            {"wave": w.number, "clusters": list(w.clusters), "services": list(w.services)}
            for w in waves_for(environment, action)
        ],
    }


def timeline_lines(environment: Environment, plan: Plan, *, now: datetime) -> list[str]:
    rules = plan.rules
    local_now = now.astimezone(rules.timezone)
    lines = [
        f"Plan for {environment.name} ({environment.config.timezone}); "
        f"now {_when(local_now, rules)}, "
        f"{rules.calendar.describe(local_now.date())}",
        f"Normal schedule: {environment.config.schedule.start!r} to "
        f"{environment.config.schedule.end!r} (KEDA cron)",
        "",
        "Wakes:",
    ]
    for number, wake in enumerate(plan.wakes, start=1):
        label = f" {wake.name}" if wake.name else ""
        note = {
            StopReason.REQUESTED: "",
            StopReason.NORMAL_WINDOW_END: "  (default stop: the end of the normal window)",
            StopReason.RESET_SLOT: "  (default stop: the next reset slot)",
        }[wake.stop_reason]
        start, stop = _when(wake.start, rules), _when(wake.stop, rules)
        lines.append(f"  {number}.{label} {start} -> {stop}{note}")

    lines += ["", "Timeline:"]
    if not plan.actions:
        lines.append("  nothing to do: the normal schedule already covers every wake")
    for action in plan.actions:
        when = _when(action.at, rules)
        lines.append(f"  {when}  {action.kind.value:<7} {_describe(action, plan)}")
        for wave in waves_for(environment, action):
            parts = []
            if wave.clusters:
                parts.append(
                    "clusters " + ", ".join(_cluster(environment, c) for c in wave.clusters)
                )
            if wave.services:
                parts.append("services " + ", ".join(wave.services))
            lines.append(f"{'':<30}wave {wave.number}: {'; '.join(parts)}")

    following = plan.next_action(now)
    lines.append("")
    lines.append(f"Desired state now: {plan.state_at(now).value}")
    if following:
        lines.append(f"Next: {following.kind.value} at {_when(following.at, rules)}")
    return lines


def _describe(action: Action, plan: Plan) -> str:
    segment = plan.segments[action.segment]
    start = _when(segment.start, plan.rules)[-5:]
    if action.kind is ActionKind.START:
        return f"wake the environment (awake from {start})"
    if action.kind is ActionKind.EXPAND:
        return (
            f"keep it up past the normal stop at {start}: hold minReplicaCount "
            "and the Aurora stop schedules"
        )
    if action.kind is ActionKind.STOP:
        return "put it to sleep: services (dependents first), then clusters"
    return "put manifests and Aurora schedules back exactly as the normal schedule has them"


def _cluster(environment: Environment, key: str) -> str:
    cluster = next(c for c in environment.clusters if c.key == key)
    return f"{key} (account {cluster.aws_account_id})" if cluster.aws_account_id else key


def _when(instant: datetime, rules: Rules) -> str:
    return instant.astimezone(rules.timezone).strftime("%a %Y-%m-%d %H:%M")
