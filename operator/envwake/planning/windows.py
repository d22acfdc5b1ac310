"""Normal windows: when KEDA's cron trigger holds the pods up.

Crons fire in the environment's local time; the windows are returned in UTC, because
Python adds and subtracts datetimes that share a time zone in wall-clock time, which is
wrong across a daylight-saving switch.

KEDA's cron scaler is active at time t exactly when the next ``end`` firing after t
comes no later than the next ``start`` firing after t. So the active stretches are
[previous firing, end firing) for every ``end`` firing, whichever cron the previous
firing belongs to; holidays do not exist for it.
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import pairwise

from croniter import croniter

from envwake.planning.intervals import Interval, union

__all__ = ["NormalSchedule", "contains"]


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
        """KEDA's own decision at ``instant``, computed as KEDA does (for tests and checks)."""
        local = instant.astimezone(self.timezone)
        next_start = croniter(self.start, local).get_next(datetime)
        next_end = croniter(self.end, local).get_next(datetime)
        return bool(next_end <= next_start)


def _firings(expression: str, since: datetime, until: datetime, timezone: tzinfo) -> list[datetime]:
    """The last firing at or before ``since``, then every firing up to ``until``."""
    floor = since.replace(second=0, microsecond=0)
    iterator = croniter(expression, floor + timedelta(seconds=1))
    firings = [iterator.get_prev(datetime)]
    iterator = croniter(expression, firings[0])
    while True:
        firing = iterator.get_next(datetime)
        firings.append(firing)
        if firing > until:
            return [f.astimezone(UTC) for f in firings]


def contains(windows: list[Interval], instant: datetime) -> bool:
    """Whether ``instant`` is inside one of the sorted, disjoint ``windows``."""
    index = bisect.bisect_right([w.start for w in windows], instant) - 1
    return index >= 0 and instant in windows[index]
