"""The local stack's clock: a fast, jumping time that every emulator shares."""

from __future__ import annotations

import asyncio
import os
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


def test_a_shared_clock_is_followed_by_another_reader_jumps_included(tmp_path):
    shared = VirtualClock(ORIGIN, speed=60.0)
    shared.share(tmp_path / "clock.json")
    follower = VirtualClock.follow(tmp_path / "clock.json")
    assert abs((follower.now() - shared.now()).total_seconds()) < 5  # 60x: a few ms real
    shared.jump(timedelta(hours=12))
    assert abs((follower.now() - (ORIGIN + timedelta(hours=12))).total_seconds()) < 5
    assert follower.speed == 60.0
    with pytest.raises(RuntimeError, match="moves only with the process that shares it"):
        follower.reset(ORIGIN, speed=1.0)


def test_a_follower_sees_a_jump_the_files_stat_does_not_show(tmp_path):
    """Found by the soak: two resets within the file system's timestamp granularity, the
    second file on the inode the first one freed, have the same stat; the operator's
    clock stayed on the earlier one and woke the environment an hour late."""
    path = tmp_path / "clock.json"
    shared = VirtualClock(ORIGIN, speed=60.0)
    shared.share(path)
    follower = VirtualClock.follow(path)
    follower.now()
    before = path.stat()
    later = path.read_text().replace(ORIGIN.isoformat(), (ORIGIN + timedelta(hours=1)).isoformat())
    with path.open("r+", encoding="utf-8") as file:  # the same inode...
        file.write(later)
        file.truncate()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # ...and the same times
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert follower.now() - ORIGIN >= timedelta(hours=1)


def test_following_a_clock_that_is_not_shared_says_where(tmp_path):
    with pytest.raises(ValueError, match="no shared clock at"):
        VirtualClock.follow(tmp_path / "nothing.json")


async def test_a_deadline_sleep_ends_when_the_clock_jumps_past_it():
    virtual = VirtualClock(ORIGIN, speed=1.0)
    trigger = asyncio.Event()
    sleeping = asyncio.create_task(virtual.sleep_until_triggered(trigger, 3600.0))
    await asyncio.sleep(0)
    assert not sleeping.done()
    virtual.jump(timedelta(hours=2))
    await asyncio.wait_for(sleeping, timeout=5)  # ends within a tenth of a second


async def test_a_deadline_sleep_ends_when_triggered():
    virtual = VirtualClock(ORIGIN, speed=1.0)
    trigger = asyncio.Event()
    sleeping = asyncio.create_task(virtual.sleep_until_triggered(trigger, None))
    await asyncio.sleep(0)
    trigger.set()
    await asyncio.wait_for(sleeping, timeout=5)
