"""Instants typed by people on the command line."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from envwake import errors

__all__ = ["ACCEPTED", "is_time_of_day", "parse_instant", "parse_when", "wall_time"]

ACCEPTED = "now, 02:00, today 18:30, tomorrow 05:30, or RFC 3339 like 2026-11-28T10:00:00+09:00"
_WALL = re.compile(r"(?:(?P<day>today|tomorrow)\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})\Z", re.I)


def is_time_of_day(text: str) -> bool:
    """Whether ``text`` is a wall-clock time (it needs a time zone to mean an instant)."""
    return _WALL.match(" ".join(text.split())) is not None


def parse_instant(text: str, *, what: str) -> datetime:
    """An RFC 3339 instant with a UTC offset (``2026-11-28T10:00:00+09:00``, ``…Z``)."""
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        raise errors.WakeInvalid(
            f"{what}: {text!r} is not an RFC 3339 time like 2026-11-28T10:00:00+09:00"
        ) from None
    if instant.tzinfo is None:
        raise errors.WakeInvalid(f"{what}: {text!r} has no UTC offset; add one, like +09:00 or Z")
    return instant


def parse_when(text: str, *, what: str, now: datetime, after: datetime, zone: tzinfo) -> datetime:
    """An instant as people type it, read in ``zone``.

    ``HH:MM`` is its first occurrence after ``after`` (so ``--until 02:00`` is the 02:00
    following the start); ``today HH:MM`` and ``tomorrow HH:MM`` are days counted from
    ``now``; ``now``; or RFC 3339 with an offset.
    """
    cleaned = " ".join(text.split())
    if cleaned.lower() == "now":
        return now
    match = _WALL.match(cleaned)
    if match is None:
        if ":" in cleaned and "-" in cleaned:
            return parse_instant(cleaned, what=what)
        raise errors.WakeInvalid(f"{what}: {text!r} is not a time; write {ACCEPTED}")
    hour, minute = int(match["hour"]), int(match["minute"])
    if hour > 23 or minute > 59:
        raise errors.WakeInvalid(f"{what}: {text!r} is not a time of day (00:00 to 23:59)")
    day = match["day"]
    if day is None:
        local = after.astimezone(zone)
        instant = wall_time(local.date(), time(hour, minute), zone)
        if instant <= after:
            instant = wall_time(local.date() + timedelta(days=1), time(hour, minute), zone)
        return instant
    date = now.astimezone(zone).date() + timedelta(days=1 if day.lower() == "tomorrow" else 0)
    instant = wall_time(date, time(hour, minute), zone)
    if instant < now:
        current = now.astimezone(zone).strftime("%H:%M")
        raise errors.WakeInvalid(f"{what}: {text!r} has passed (it is {current} now)")
    return instant


def wall_time(day: date, clock: time, zone: tzinfo) -> datetime:
    """``day`` at ``clock`` in ``zone``; a time skipped by a DST switch moves forward."""
    local = datetime.combine(day, clock, tzinfo=zone)
    return local.astimezone(UTC).astimezone(zone)  # a time in a gap comes back shifted
