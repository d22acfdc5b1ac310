"""Durations written as people write them: ``30m``, ``1h30m``, ``90s``, ``7d``, ``0``."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["parse_duration"]

_DURATION = re.compile(r"(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?\Z")


def parse_duration(text: str) -> timedelta:
    """``1h30m`` → 90 minutes. Raises ValueError naming the accepted form."""
    text = text.strip()
    if text == "0":
        return timedelta(0)
    match = _DURATION.match(text)
    if not text or not match:
        raise ValueError(f"{text!r} is not a duration like 30m, 1h30m, 90s or 7d")
    days, hours, minutes, seconds = (int(match.group(g) or 0) for g in "dhms")
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
