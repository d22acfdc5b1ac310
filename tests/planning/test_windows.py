"""Normal windows agree with KEDA's own decision at every sampled instant."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

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


# KEDA's behaviour where daylight saving time skips or repeats an hour, as its own cron
# scaler answered (tests/cluster/test_keda_cron_oracle.py) and worked out here by hand:
# a firing in the skipped hour does not happen; one in the repeated hour happens twice.
NEW_YORK = ZoneInfo("America/New_York")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_a_start_in_the_skipped_hour_leaves_the_trigger_on_until_the_next_end():
    schedule = NormalSchedule("30 2 * * *", "30 3 * * *", BERLIN)
    windows = schedule.windows(_utc("2027-03-27T00:00+01:00"), _utc("2027-03-29T12:00+02:00"))
    assert [(w.start, w.end) for w in windows] == [
        # 28 March has no 02:30: from Saturday's 02:30 to Sunday's 03:30, a whole day
        (_utc("2027-03-27T02:30+01:00"), _utc("2027-03-28T03:30+02:00")),
        (_utc("2027-03-29T02:30+02:00"), _utc("2027-03-29T03:30+02:00")),
    ]


def test_an_end_in_the_skipped_hour_means_no_window_that_day():
    schedule = NormalSchedule("30 1 * * *", "30 2 * * *", NEW_YORK)
    windows = schedule.windows(_utc("2027-03-13T00:00-05:00"), _utc("2027-03-15T12:00-04:00"))
    assert [(w.start, w.end) for w in windows] == [
        (_utc("2027-03-13T01:30-05:00"), _utc("2027-03-13T02:30-05:00")),
        (_utc("2027-03-15T01:30-04:00"), _utc("2027-03-15T02:30-04:00")),
    ]


def test_a_start_in_the_repeated_hour_fires_twice_and_the_window_opens_at_the_second():
    schedule = NormalSchedule("30 1 * * *", "30 2 * * *", NEW_YORK)
    windows = schedule.windows(_utc("2027-11-07T00:00-04:00"), _utc("2027-11-07T12:00-05:00"))
    assert [(w.start, w.end) for w in windows] == [
        (_utc("2027-11-07T01:30-05:00"), _utc("2027-11-07T02:30-05:00")),
    ]
