"""Time for the local stack: a clock that starts at a chosen instant, runs faster than
the wall clock, and can jump ahead, so the demo shows a night in seconds and says so.

A clock can be shared with another process on the same machine (an ``envwake run``
started by a test): ``share(path)`` writes its state there after every change, and
``VirtualClock.follow(path)`` tells the same time, jumps included. Both count real time
on ``time.monotonic``, which on Linux is one clock for every process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = ["LOOK", "VirtualClock"]

LOOK = 0.05  # real seconds between looks at the clock of a deadline sleep (it may jump)


class VirtualClock:
    def __init__(
        self,
        origin: datetime,
        *,
        speed: float = 1.0,
        real_monotonic: Callable[[], float] = time.monotonic,
        real_sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if origin.tzinfo is None:
            raise ValueError("the clock's origin needs a time zone")
        if speed <= 0:
            raise ValueError("the clock's speed must be positive")
        self._lock = threading.Lock()
        self._real_monotonic = real_monotonic
        self._real_sleep = real_sleep
        self._origin = origin.astimezone(UTC)
        self._real_origin = real_monotonic()
        self._elapsed_before = 0.0  # virtual seconds up to the last reset of the origin
        self.speed = speed
        self._shared: Path | None = None

    def _virtual_since_origin(self) -> float:
        return (self._real_monotonic() - self._real_origin) * self.speed

    def now(self) -> datetime:
        with self._lock:
            return self._origin + timedelta(seconds=self._virtual_since_origin())

    def monotonic(self) -> float:
        """Virtual seconds since the clock was made, jumps included."""
        with self._lock:
            return self._elapsed_before + self._virtual_since_origin()

    def sleep(self, seconds: float) -> None:
        self._real_sleep(max(seconds, 0.0) / self.speed)

    async def sleep_until_triggered(self, trigger: asyncio.Event, seconds: float | None) -> None:
        """Sleep ``seconds`` of this clock's time, or until ``trigger`` is set; a jump
        ahead past the deadline ends the sleep too (it is checked every LOOK seconds)."""
        deadline = None if seconds is None else self.now() + timedelta(seconds=seconds)
        while not trigger.is_set():
            remaining = None if deadline is None else (deadline - self.now()).total_seconds()
            if remaining is not None and remaining <= 0:
                return
            step = LOOK if remaining is None else min(remaining / self.speed, LOOK)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(trigger.wait(), timeout=step)

    def jump(self, delta: timedelta) -> None:
        """Move ahead by ``delta`` at once."""
        self.reset(self.now() + delta, speed=self.speed)

    def reset(self, origin: datetime, *, speed: float) -> None:
        """From now on, start from ``origin`` at ``speed`` (1.0: the wall clock's pace)."""
        with self._lock:
            ahead = (origin.astimezone(UTC) - self._now_unlocked()).total_seconds()
            # monotonic() never goes back, even when the new origin is earlier
            self._elapsed_before += self._virtual_since_origin() + max(ahead, 0.0)
            self._origin = origin.astimezone(UTC)
            self._real_origin = self._real_monotonic()
            self.speed = speed
            self._publish()

    def share(self, path: Path) -> None:
        """Write this clock's state to ``path`` now and after every reset or jump."""
        with self._lock:
            self._shared = path
            self._publish()

    @classmethod
    def follow(cls, path: Path) -> VirtualClock:
        """The clock shared at ``path`` by another process, following its jumps."""
        return _FollowingClock(path)

    def _publish(self) -> None:
        if self._shared is None:
            return
        state = {
            "origin": self._origin.isoformat(),
            "speed": self.speed,
            "real_origin": self._real_origin,
            "elapsed_before": self._elapsed_before,
        }
        partial = self._shared.with_name(self._shared.name + ".partial")
        partial.write_text(json.dumps(state), encoding="utf-8")
        os.replace(partial, self._shared)  # readers never see half a state

    def _now_unlocked(self) -> datetime:
        return self._origin + timedelta(seconds=self._virtual_since_origin())


class _FollowingClock(VirtualClock):
    """Reads the shared state at every look. (Not only when the file's stat changes: two
    resets within the file system's timestamp granularity, the second one's file given
    the inode the first one's freed, look the same, and the follower would tell the time
    of a reset long gone.)"""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._seen: str | None = None
        super().__init__(datetime.now(UTC))
        self._refresh()

    def _refresh(self) -> None:
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ValueError(f"no shared clock at {self._path}") from None
        if text == self._seen:
            return
        state = json.loads(text)
        with self._lock:
            self._origin = datetime.fromisoformat(state["origin"])
            self.speed = float(state["speed"])
            self._real_origin = float(state["real_origin"])
            self._elapsed_before = float(state["elapsed_before"])
            self._seen = text

    def now(self) -> datetime:
        self._refresh()
        return super().now()

    def monotonic(self) -> float:
        self._refresh()
        return super().monotonic()

    def sleep(self, seconds: float) -> None:
        self._refresh()
        super().sleep(seconds)

    def reset(self, origin: datetime, *, speed: float) -> None:
        raise RuntimeError("a followed clock moves only with the process that shares it")
