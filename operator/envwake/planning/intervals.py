"""Half-open time intervals [start, end) and the little algebra the planner needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Interval", "subtract", "union"]


@dataclass(frozen=True, order=True)
class Interval:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("interval bounds must be time-zone aware")

    def __contains__(self, instant: datetime) -> bool:
        return self.start <= instant < self.end

    @property
    def empty(self) -> bool:
        return self.end <= self.start


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering the same instants; touching ones are merged."""
    merged: list[Interval] = []
    for interval in sorted(i for i in intervals if not i.empty):
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return merged


def subtract(intervals: Iterable[Interval], removed: Iterable[Interval]) -> list[Interval]:
    """The instants of ``intervals`` not in ``removed``, as sorted disjoint intervals."""
    holes = union(removed)
    result: list[Interval] = []
    for interval in union(intervals):
        start = interval.start
        for hole in holes:
            if hole.end <= start or hole.start >= interval.end:
                continue
            if hole.start > start:
                result.append(Interval(start, hole.start))
            start = max(start, hole.end)
            if start >= interval.end:
                break
        if start < interval.end:
            result.append(Interval(start, interval.end))
    return result
