"""Normal windows agree with KEDA's own decision at every sampled instant."""

from datetime import timedelta
from itertools import pairwise

import pytest

from envwake.planning import NormalSchedule

from .conftest import BERLIN, TOKYO, at

SCHEDULES = [
    pytest.param("30 6 * * 1-5", "0 0 * * 2-6", TOKYO, "2026-11-20 00:00", id="weekdays-tokyo"),
    pytest.param("0 9 * * 1-5", "0 18 * * *", TOKYO, "2026-11-20 00:00", id="daily-end-quirk"),
    pytest.param("0 8 * * *", "30 19 * * *", TOKYO, "2026-11-20 00:00", id="every-day"),
    pytest.param("0 22 * * 1-5", "0 2 * * 2-6", TOKYO, "2026-11-20 00:00", id="night-shift"),
    pytest.param("30 6 * * 1-5", "0 0 * * 2-6", BERLIN, "2026-03-20 00:00", id="berlin-spring"),
    pytest.param("30 6 * * 1-5", "0 0 * * 2-6", BERLIN, "2026-10-18 00:00", id="berlin-autumn"),
]


@pytest.mark.parametrize(("start", "end", "tz", "since"), SCHEDULES)
def test_windows_match_keda_decision(start, end, tz, since):
    schedule = NormalSchedule(start, end, tz)
    origin = at(since, tz)
    until = origin + timedelta(days=15)
    windows = schedule.windows(origin, until)
    instant = origin
    checked = 0
    while instant < until:
        inside = any(instant in w for w in windows)
        assert inside == schedule.is_active(instant), instant.isoformat()
        instant += timedelta(minutes=10)
        checked += 1
    assert checked > 2000


def test_windows_are_disjoint_and_sorted():
    schedule = NormalSchedule("30 6 * * 1-5", "0 0 * * 2-6", TOKYO)
    windows = schedule.windows(at("2026-11-01 00:00"), at("2026-12-01 00:00"))
    assert all(a.end < b.start for a, b in pairwise(windows))
    assert len(windows) == 21  # weekdays of November 2026, 06:30 to midnight
    assert windows[0].start == at("2026-11-02 06:30")
    assert windows[0].end == at("2026-11-03 00:00")


def test_window_containing_since_is_included():
    schedule = NormalSchedule("30 6 * * 1-5", "0 0 * * 2-6", TOKYO)
    (first, *_) = schedule.windows(at("2026-11-26 12:00"), at("2026-11-26 13:00"))
    assert (first.start, first.end) == (at("2026-11-26 06:30"), at("2026-11-27 00:00"))
