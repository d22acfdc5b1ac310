"""From wakes to a plan: override segments, actions and the desired state over time.

The union of all wakes, minus the normal windows, gives the override segments. For a
segment [a, b):

- ``start`` at a - startLead when a is not the end of a normal window;
- ``expand`` at a - stopLead when it is (the wake extends past the normal stop);
- ``stop`` at b when b is not the start of a normal window (else a hand-over);
- ``reset`` at the first reset slot at or after b, unless the next segment's action
  is due before (or at) that slot: then the segments chain and the reset follows the
  last one.

Every instant here is in UTC (see windows.py for why); present them in the
environment's time zone.

Desired state at t: HOLD from a segment's action until its end, and from a hand-over
until the chain's next action or reset; ASLEEP from a stop until the chain's next
action or reset; NORMAL otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from envwake import errors
from envwake.planning.intervals import Interval, subtract
from envwake.planning.rules import Rules
from envwake.planning.windows import contains

__all__ = [
    "Action",
    "ActionKind",
    "Chain",
    "DesiredState",
    "Plan",
    "Segment",
    "StopReason",
    "Wake",
    "WakeRequest",
    "default_stop",
    "plan_environment",
]

# Reset slots are at most a day apart, so this much past the last stop sees every action.
_HORIZON_MARGIN = timedelta(days=3)


class ActionKind(StrEnum):
    START = "start"
    EXPAND = "expand"
    STOP = "stop"
    RESET = "reset"


class DesiredState(StrEnum):
    NORMAL = "NORMAL"
    HOLD = "HOLD"
    ASLEEP = "ASLEEP"


@dataclass(frozen=True)
class WakeRequest:
    """What a person asked for; ``None`` takes the default."""

    start: datetime | None = None
    stop: datetime | None = None
    name: str = ""


class StopReason(StrEnum):
    REQUESTED = "requested"
    NORMAL_WINDOW_END = "normal-window-end"  # default: hands over to a normal window
    RESET_SLOT = "reset-slot"  # default: no normal window before the next reset slot


@dataclass(frozen=True)
class Wake:
    """A wake with its effective start and stop."""

    name: str
    start: datetime
    stop: datetime
    stop_reason: StopReason

    @property
    def stop_is_default(self) -> bool:
        return self.stop_reason is not StopReason.REQUESTED


@dataclass(frozen=True)
class Segment:
    """A stretch the environment must be awake outside every normal window."""

    start: datetime
    end: datetime
    extends_normal_window: bool  # starts where a normal window ends
    hands_over: bool  # ends where a normal window starts
    action_at: datetime


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    at: datetime
    segment: int  # index into Plan.segments (the chain's last segment for a reset)


@dataclass(frozen=True)
class Chain:
    """Segments that share one reset."""

    segments: tuple[int, ...]
    reset_at: datetime


@dataclass(frozen=True)
class Plan:
    rules: Rules = field(repr=False)
    wakes: tuple[Wake, ...]
    segments: tuple[Segment, ...]
    chains: tuple[Chain, ...]
    actions: tuple[Action, ...]  # sorted by time
    windows: tuple[Interval, ...] = field(repr=False)

    def state_at(self, instant: datetime) -> DesiredState:
        for chain in self.chains:
            first = self.segments[chain.segments[0]]
            if not first.action_at <= instant < chain.reset_at:
                continue
            state = DesiredState.HOLD
            for index in chain.segments:
                segment = self.segments[index]
                if instant < segment.action_at:
                    break  # between segments: the previous one's outcome holds
                if instant < segment.end:
                    return DesiredState.HOLD
                stopped = any(
                    a.kind is ActionKind.STOP and a.segment == index for a in self.actions
                )
                state = DesiredState.ASLEEP if stopped else DesiredState.HOLD
            return state
        return DesiredState.NORMAL

    def next_action(self, instant: datetime) -> Action | None:
        """The first action due strictly after ``instant``."""
        return next((a for a in self.actions if a.at > instant), None)

    def in_normal_window(self, instant: datetime) -> bool:
        return contains(list(self.windows), instant)


def default_stop(rules: Rules, start: datetime) -> tuple[datetime, StopReason]:
    """Hand over to the normal window that starts before the next reset slot, else sleep
    at that slot."""
    slot = rules.next_reset_slot(start, inclusive=False)
    for window in rules.schedule.windows(start, slot):
        if window.end > start and window.start < slot:
            return window.end, StopReason.NORMAL_WINDOW_END
    return slot, StopReason.RESET_SLOT


def plan_environment(rules: Rules, requests: Sequence[WakeRequest], *, now: datetime) -> Plan:
    """The plan for an environment given its wakes; ``now`` is the default start."""
    if now.tzinfo is None:
        raise ValueError("now must be time-zone aware")
    wakes = tuple(_resolve(rules, request, now) for request in requests)
    if not wakes:
        return Plan(rules, (), (), (), (), ())

    since = min(w.start for w in wakes) - max(rules.start_lead, rules.stop_lead) - timedelta(days=1)
    until = max(w.stop for w in wakes) + _HORIZON_MARGIN
    windows = rules.schedule.windows(since, until)
    window_starts = {w.start for w in windows}
    window_ends = {w.end for w in windows}

    segments: list[Segment] = []
    for interval in subtract([Interval(w.start, w.stop) for w in wakes], windows):
        extends = interval.start in window_ends
        lead = rules.stop_lead if extends else rules.start_lead
        segments.append(
            Segment(
                start=interval.start,
                end=interval.end,
                extends_normal_window=extends,
                hands_over=interval.end in window_starts,
                action_at=interval.start - lead,
            )
        )

    actions: list[Action] = []
    chains: list[Chain] = []
    current: list[int] = []
    for index, segment in enumerate(segments):
        current.append(index)
        kind = ActionKind.EXPAND if segment.extends_normal_window else ActionKind.START
        actions.append(Action(kind, segment.action_at, index))
        following = segments[index + 1] if index + 1 < len(segments) else None
        if not segment.hands_over and not (following and following.action_at <= segment.end):
            actions.append(Action(ActionKind.STOP, segment.end, index))
        reset_at = rules.next_reset_slot(segment.end, inclusive=True)
        # A segment whose action is due at the slot or before it chains: resetting and
        # waking again at the same instant would release it.
        if following is None or following.action_at > reset_at:
            actions.append(Action(ActionKind.RESET, reset_at, index))
            chains.append(Chain(tuple(current), reset_at))
            current = []

    order = {kind: position for position, kind in enumerate(ActionKind)}
    actions.sort(key=lambda a: (a.at, order[a.kind]))
    return Plan(rules, wakes, tuple(segments), tuple(chains), tuple(actions), tuple(windows))


def _resolve(rules: Rules, request: WakeRequest, now: datetime) -> Wake:
    label = f"wake {request.name!r}" if request.name else "wake"
    for value, what in ((request.start, "start"), (request.stop, "stop")):
        if value is not None and value.tzinfo is None:
            raise errors.WakeInvalid(f"{label}: {what} {value.isoformat()} has no UTC offset")
    start = (request.start or now).astimezone(UTC)
    if request.stop is not None:
        stop = request.stop.astimezone(UTC)
        if stop <= start:
            local = rules.timezone
            raise errors.WakeInvalid(
                f"{label}: stop {stop.astimezone(local).isoformat()} is not after start "
                f"{start.astimezone(local).isoformat()}"
            )
        return Wake(request.name, start, stop, StopReason.REQUESTED)
    stop, reason = default_stop(rules, start)
    return Wake(request.name, start, stop, reason)
