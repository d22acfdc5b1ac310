"""Normal windows: when KEDA's cron trigger holds the pods up.

Crons fire in the environment's local time; the windows are returned in UTC, because
Python adds and subtracts datetimes that share a time zone in wall-clock time, which is
wrong across a daylight-saving switch.

KEDA's cron scaler is active at time t exactly when the next ``end`` firing after t
comes no later than the next ``start`` firing after t. So the active stretches are
[previous firing, end firing) for every ``end`` firing, whichever cron the previous
firing belongs to; holidays do not exist for it.

Firings are those of KEDA's cron library (robfig/cron), measured against KEDA's own
scaler (tests/cluster/test_keda_cron_oracle.py): a cron matches wall-clock times, a wall
time that does not exist (the hour skipped when daylight saving time begins) never
fires, and one that happens twice (the hour repeated when it ends) fires both times.
croniter alone moves a firing in the skipped hour to the end of the gap instead, so the
crons are evaluated on naive wall times here and placed in the zone afterwards. A start
skipped that way leaves the trigger active until the next end: a day-long window that
KEDA really keeps.
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import pairwise

from croniter import croniter

from envwake.planning.intervals import Interval, union

__all__ = ["NormalSchedule", "contains", "next_firing"]


class NormalSchedule:
    def __init__(self, start: str, end: str, timezone: tzinfo) -> None:
        self.start = start
        self.end = end
        self.timezone = timezone

    def windows(self, since: datetime, until: datetime) -> list[Interval]:
        """The normal windows that overlap [since, until], merged where they touch (UTC)."""
        since, until = since.astimezone(self.timezone), until.astimezone(self.timezone)
        events: dict[datetime, bool] = {}  # firing → is an end firing
        for expression, is_end in ((self.start, False), (self.end, True)):
            for firing in _firings(expression, since, until, self.timezone):
                events[firing] = events.get(firing, False) or is_end
        ordered = sorted(events)
        windows = [
            Interval(previous, firing) for previous, firing in pairwise(ordered) if events[firing]
        ]
        return [w for w in union(windows) if w.end > since and w.start <= until]

    def is_active(self, instant: datetime) -> bool:
        """KEDA's own decision at ``instant``: the next end comes no later than the next
        start (for checks; the planner uses ``windows``)."""
        next_start = next_firing(self.start, instant, self.timezone)
        next_end = next_firing(self.end, instant, self.timezone)
        return next_end <= next_start


def _instants(wall: datetime, timezone: tzinfo) -> list[datetime]:
    """The instants (UTC) at which the naive wall time ``wall`` happens in ``timezone``:
    none in a daylight-saving gap, two in a repeated hour, else one."""
    found = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=timezone, fold=fold).astimezone(UTC)
        if instant.astimezone(timezone).replace(tzinfo=None) == wall and instant not in found:
            found.append(instant)
    return found


def next_firing(expression: str, after: datetime, timezone: tzinfo) -> datetime:
    """The first firing of ``expression`` strictly after ``after`` (UTC)."""
    wall = after.astimezone(timezone).replace(tzinfo=None, second=0, microsecond=0)
    iterator = croniter(expression, wall - timedelta(hours=2))  # (the repeated hour)
    while True:
        for instant in _instants(iterator.get_next(datetime), timezone):
            if instant > after:
                return instant


def _firings(expression: str, since: datetime, until: datetime, timezone: tzinfo) -> list[datetime]:
    """The last firing at or before ``since``, then every firing up to the first after
    ``until`` (UTC, in order). Wall times are walked with three hours to spare on each
    side: in a repeated hour a later wall time can be an earlier instant."""
    spare = timedelta(hours=3)

    def wall_of(instant: datetime) -> datetime:
        return instant.astimezone(timezone).replace(tzinfo=None, second=0, microsecond=0)

    back = croniter(expression, wall_of(since) + spare)
    last: datetime | None = None
    while True:
        wall = back.get_prev(datetime)
        for instant in _instants(wall, timezone):
            if instant <= since and (last is None or instant > last):
                last = instant
        if last is not None and wall < wall_of(last) - spare:
            break
    found, latest = {last}, last
    forward = croniter(expression, wall_of(last) - spare)
    while True:
        wall = forward.get_next(datetime)
        for instant in _instants(wall, timezone):
            if instant > last:
                found.add(instant)
                latest = max(latest, instant)
        if wall > wall_of(until) + spare and latest > until:
            break
    ordered = sorted(found)
    first_after = next(n for n, instant in enumerate(ordered) if instant > until)
    return ordered[: first_after + 1]


def contains(windows: list[Interval], instant: datetime) -> bool:
    """Whether ``instant`` is inside one of the sorted, disjoint ``windows``."""
    index = bisect.bisect_right(windows, instant, key=lambda w: w.start) - 1
    return index >= 0 and instant in windows[index]
