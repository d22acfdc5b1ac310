"""Time for the local stack: a clock that starts at a chosen instant, runs faster than
the wall clock, and can jump ahead, so the demo shows a night in seconds and says so."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["VirtualClock"]


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

    def _now_unlocked(self) -> datetime:
        return self._origin + timedelta(seconds=self._virtual_since_origin())
