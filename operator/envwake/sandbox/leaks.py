"""Secrets the local stack hands out, and every place they must never show up.

The emulators ``remember`` each secret they issue (GitHub App keys and installation
tokens, Slack tokens and signing secrets) and ``inspect`` every text that reaches them
from envwake (pull request titles and bodies, comments, statuses, Kubernetes events and
status, Slack messages). The test suite adds every log line and every test's output and
fails the test in which a secret appears.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["Leak", "inspect", "remember", "take"]

_MIN_LENGTH = 12  # shorter values would match by chance


@dataclass(frozen=True)
class Leak:
    where: str
    secret: str  # a prefix only, for the report

    def __str__(self) -> str:
        return f"{self.secret}… found in {self.where}"


_lock = threading.Lock()
_secrets: set[str] = set()
_found: list[Leak] = []


def remember(*values: str) -> None:
    """Secrets to look for; a multi-line one (a PEM key) is looked for line by line too."""
    with _lock:
        for value in values:
            for part in (value, *value.splitlines()):
                part = part.strip()
                if len(part) >= _MIN_LENGTH and not part.startswith("-----"):
                    _secrets.add(part)


def inspect(where: str, text: str) -> None:
    """Record a leak when ``text`` holds a remembered secret."""
    if not text:
        return
    with _lock:
        for secret in _secrets:
            if secret in text:
                _found.append(Leak(where, secret[:8]))


def take() -> list[Leak]:
    """The leaks found since the last call."""
    with _lock:
        found = list(_found)
        _found.clear()
    return found
