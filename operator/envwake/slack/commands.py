"""``/envwake start|stop|status|plan ENV [at T] [until T] [for 3h] [because …]``, read
into a :class:`Command` (pure; times stay text until the environment's zone is known)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["USAGE", "Command", "CommandInvalid", "parse_command"]

Action = Literal["start", "stop", "status", "plan"]
USAGE = (
    "`/envwake start ENV [at T] [until T | for 3h] [because …]`, `/envwake stop ENV`, "
    "`/envwake status ENV`, `/envwake plan ENV [at T] [until T | for 3h]`; "
    "T is now, 18:30, today 18:30, tomorrow 05:30 or 2026-11-28T10:00+09:00"
)
_ACTIONS: tuple[Action, ...] = ("start", "stop", "status", "plan")
_TIMED: tuple[Action, ...] = ("start", "plan")
_DAYS = ("today", "tomorrow")


class CommandInvalid(ValueError):
    """The command cannot be read; the message says what and shows the usage."""


@dataclass(frozen=True)
class Command:
    action: Action
    environment: str
    at: str | None = None
    until: str | None = None
    duration: str | None = None
    reason: str | None = None


def parse_command(text: str) -> Command:
    words = text.split()
    if not words or words[0].lower() == "help":
        raise CommandInvalid(f"usage: {USAGE}")
    action = next((a for a in _ACTIONS if a == words[0].lower()), None)
    if action is None:
        raise CommandInvalid(f"unknown action {words[0]!r}; usage: {USAGE}")
    if len(words) < 2:
        raise CommandInvalid(f"which environment? usage: {USAGE}")
    environment = words[1]
    options: dict[str, str] = {}
    rest = words[2:]
    while rest:
        keyword = rest[0].lower()
        if keyword == "because":
            if action != "start":
                raise CommandInvalid(f"`because` goes with start only; usage: {USAGE}")
            reason = " ".join(rest[1:])
            if not reason:
                raise CommandInvalid("`because` needs a reason after it")
            options["because"] = reason
            break
        if keyword not in ("at", "until", "for") or action not in _TIMED:
            raise CommandInvalid(f"unexpected {rest[0]!r} after {action}; usage: {USAGE}")
        if keyword in options:
            raise CommandInvalid(f"`{keyword}` is given twice")
        if len(rest) < 2:
            raise CommandInvalid(f"`{keyword}` needs a value after it")
        take = 3 if keyword != "for" and rest[1].lower() in _DAYS and len(rest) > 2 else 2
        options[keyword] = " ".join(rest[1:take])
        rest = rest[take:]
    if "until" in options and "for" in options:
        raise CommandInvalid("give `until` or `for`, not both")
    return Command(
        action=action,
        environment=environment,
        at=options.get("at"),
        until=options.get("until"),
        duration=options.get("for"),
        reason=options.get("because"),
    )
