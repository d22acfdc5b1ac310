"""Instants typed by people on the command line."""

from __future__ import annotations

from datetime import datetime

from envwake import errors

__all__ = ["parse_instant"]


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
