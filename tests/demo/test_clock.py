"""The local stack's clock: a fast, jumping time that every emulator shares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from envwake.sandbox.clock import VirtualClock

ORIGIN = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


class RealTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def clock(speed: float = 60.0) -> tuple[VirtualClock, RealTime]:
    real = RealTime()
    return VirtualClock(
        ORIGIN, speed=speed, real_monotonic=real.monotonic, real_sleep=real.sleep
    ), real


def test_runs_faster_than_real_time():
    virtual, real = clock(60)
    real.now += 2
    assert virtual.now() == ORIGIN + timedelta(minutes=2)
    assert virtual.monotonic() == 120


def test_sleeping_takes_a_fraction_of_the_virtual_seconds():
    virtual, real = clock(60)
    virtual.sleep(300)
    assert real.slept == [5.0]
    assert virtual.now() == ORIGIN + timedelta(minutes=5)


def test_a_jump_moves_now_and_monotonic_together():
    virtual, real = clock(60)
    real.now += 1
    virtual.jump(timedelta(hours=12))
    assert virtual.now() == ORIGIN + timedelta(hours=12, minutes=1)
    assert virtual.monotonic() == 60 + 12 * 3600
    real.now += 1
    assert virtual.now() == ORIGIN + timedelta(hours=12, minutes=2)


def test_reset_to_an_earlier_time_at_real_pace_never_moves_monotonic_back():
    virtual, real = clock(60)
    real.now += 10
    before = virtual.monotonic()
    virtual.reset(ORIGIN - timedelta(days=2), speed=1.0)
    assert virtual.now() == ORIGIN - timedelta(days=2)
    assert virtual.monotonic() == before
    real.now += 3
    assert virtual.now() == ORIGIN - timedelta(days=2) + timedelta(seconds=3)
    assert virtual.monotonic() == before + 3


@pytest.mark.parametrize("speed", [0, -1])
def test_refuses_a_speed_that_is_not_positive(speed):
    with pytest.raises(ValueError, match="speed must be positive"):
        VirtualClock(ORIGIN, speed=speed)


def test_refuses_a_naive_origin():
    with pytest.raises(ValueError, match="time zone"):
        VirtualClock(datetime(2026, 11, 28, 10, 0))
