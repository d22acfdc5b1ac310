"""The planner on named scenarios: DESIGN.md's worked examples and many more.

Calendar used (Asia/Tokyo): 2026-11-23 Mon is Labor Thanksgiving Day; 11-24 Tue,
25 Wed, 26 Thu, 27 Fri, 28 Sat, 29 Sun, 30 Mon. Normal schedule by default:
start ``30 6 * * 1-5``, end ``0 0 * * 2-6`` (06:30 to midnight, Monday to Friday).
"""

from datetime import time, timedelta

import pytest

from envwake import errors
from envwake.planning import WakeRequest, plan_environment

from .conftest import BERLIN, at, make_rules

HOUR = timedelta(hours=1)

SCENARIOS = [
    # --- the worked examples of DESIGN.md -------------------------------------------------
    (
        "design-saturday-morning-default-stop",
        {},
        [("2026-11-28 10:00", None)],
        ["start 2026-11-28 10:00", "stop 2026-11-28 22:00", "reset 2026-11-28 22:00"],
    ),
    (
        "design-wednesday-into-thursday-night",
        {},
        [("2026-11-25 14:00", "2026-11-26 02:00")],
        ["expand 2026-11-25 23:30", "stop 2026-11-26 02:00", "reset 2026-11-26 10:00"],
    ),
    (
        "design-thursday-early-start-hands-over",
        {},
        [("2026-11-26 05:30", None)],
        ["start 2026-11-26 05:30", "reset 2026-11-26 10:00"],
    ),
    (
        "design-monday-public-holiday-night",
        {},
        [("2026-11-23 03:00", None)],
        ["start 2026-11-23 03:00", "reset 2026-11-23 22:00"],
    ),
    ("design-inside-normal-window-is-a-no-op", {}, [("2026-11-24 10:00", "2026-11-24 15:00")], []),
    # --- weekends --------------------------------------------------------------------------
    (
        "sunday-morning-default-stop",
        {},
        [("2026-11-29 09:00", None)],
        ["start 2026-11-29 09:00", "stop 2026-11-29 22:00", "reset 2026-11-29 22:00"],
    ),
    (
        "saturday-late-default-runs-to-sunday-slot",
        {},
        [("2026-11-28 23:00", None)],
        ["start 2026-11-28 23:00", "stop 2026-11-29 22:00", "reset 2026-11-29 22:00"],
    ),
    (
        "friday-night-into-saturday",
        {},
        [("2026-11-27 22:00", "2026-11-28 03:00")],
        ["expand 2026-11-27 23:30", "stop 2026-11-28 03:00", "reset 2026-11-28 22:00"],
    ),
    (
        "whole-weekend-hands-over-on-monday",
        {},
        [("2026-11-27 14:00", "2026-11-30 09:00")],
        ["expand 2026-11-27 23:30", "reset 2026-11-30 10:00"],
    ),
    (
        "saturday-night-to-monday-morning",
        {},
        [("2026-11-28 23:30", "2026-11-30 07:00")],
        ["start 2026-11-28 23:30", "reset 2026-11-30 10:00"],
    ),
    ("friday-late-default-stop-is-the-normal-end", {}, [("2026-11-27 23:00", None)], []),
    # --- nights ----------------------------------------------------------------------------
    (
        "two-nights-reset-between-them",
        {},
        [("2026-11-24 20:00", "2026-11-26 03:00")],
        [
            "expand 2026-11-24 23:30",
            "reset 2026-11-25 10:00",
            "expand 2026-11-25 23:30",
            "stop 2026-11-26 03:00",
            "reset 2026-11-26 10:00",
        ],
    ),
    (
        "a-week-friday-to-friday",
        {},
        [("2026-11-27 18:00", "2026-12-04 18:00")],
        [
            "expand 2026-11-27 23:30",
            "reset 2026-11-30 10:00",
            "expand 2026-11-30 23:30",
            "reset 2026-12-01 10:00",
            "expand 2026-12-01 23:30",
            "reset 2026-12-02 10:00",
            "expand 2026-12-02 23:30",
            "reset 2026-12-03 10:00",
            "expand 2026-12-03 23:30",
            "reset 2026-12-04 10:00",
        ],
    ),
    (
        "ends-exactly-at-normal-start",
        {},
        [("2026-11-26 04:00", "2026-11-26 06:30")],
        ["start 2026-11-26 04:00", "reset 2026-11-26 10:00"],
    ),
    (
        "starts-exactly-at-normal-end",
        {},
        [("2026-11-26 00:00", "2026-11-26 02:00")],
        ["expand 2026-11-25 23:30", "stop 2026-11-26 02:00", "reset 2026-11-26 10:00"],
    ),
    (
        "early-wake-with-stop-inside-the-window",
        {},
        [("2026-11-26 05:00", "2026-11-26 08:00")],
        ["start 2026-11-26 05:00", "reset 2026-11-26 10:00"],
    ),
    (
        "evening-wake-past-midnight",
        {},
        [("2026-11-26 20:00", "2026-11-27 01:00")],
        ["expand 2026-11-26 23:30", "stop 2026-11-27 01:00", "reset 2026-11-27 10:00"],
    ),
    # --- several wakes ---------------------------------------------------------------------
    (
        "overlapping-wakes-are-united",
        {},
        [("2026-11-28 10:00", "2026-11-28 14:00"), ("2026-11-28 12:00", "2026-11-28 18:00")],
        ["start 2026-11-28 10:00", "stop 2026-11-28 18:00", "reset 2026-11-28 22:00"],
    ),
    (
        "adjacent-wakes-are-united",
        {},
        [("2026-11-28 10:00", "2026-11-28 12:00"), ("2026-11-28 12:00", "2026-11-28 15:00")],
        ["start 2026-11-28 10:00", "stop 2026-11-28 15:00", "reset 2026-11-28 22:00"],
    ),
    (
        "same-day-gap-chains-one-reset",
        {},
        [("2026-11-28 09:00", "2026-11-28 11:00"), ("2026-11-28 15:00", "2026-11-28 17:00")],
        [
            "start 2026-11-28 09:00",
            "stop 2026-11-28 11:00",
            "start 2026-11-28 15:00",
            "stop 2026-11-28 17:00",
            "reset 2026-11-28 22:00",
        ],
    ),
    (
        "chain-across-midnight-on-a-weekend",
        {},
        [("2026-11-28 20:00", "2026-11-28 23:00"), ("2026-11-29 08:00", "2026-11-29 09:00")],
        [
            "start 2026-11-28 20:00",
            "stop 2026-11-28 23:00",
            "start 2026-11-29 08:00",
            "stop 2026-11-29 09:00",
            "reset 2026-11-29 22:00",
        ],
    ),
    (
        "three-people-one-default",
        {},
        [
            ("2026-11-28 10:00", None),
            ("2026-11-28 20:00", "2026-11-29 01:00"),
            ("2026-11-28 12:00", "2026-11-28 13:00"),
        ],
        ["start 2026-11-28 10:00", "stop 2026-11-29 01:00", "reset 2026-11-29 22:00"],
    ),
    # --- leads and reset times ---------------------------------------------------------------
    (
        "start-lead",
        {"start_lead": timedelta(minutes=15)},
        [("2026-11-28 10:00", "2026-11-28 12:00")],
        ["start 2026-11-28 09:45", "stop 2026-11-28 12:00", "reset 2026-11-28 22:00"],
    ),
    (
        "stop-lead-of-an-hour",
        {"stop_lead": HOUR},
        [("2026-11-25 14:00", "2026-11-26 02:00")],
        ["expand 2026-11-25 23:00", "stop 2026-11-26 02:00", "reset 2026-11-26 10:00"],
    ),
    (
        "other-reset-times",
        {"reset_business": time(9, 0), "reset_other": time(20, 0)},
        [("2026-11-28 10:00", None)],
        ["start 2026-11-28 10:00", "stop 2026-11-28 20:00", "reset 2026-11-28 20:00"],
    ),
    # --- holidays --------------------------------------------------------------------------
    (
        "night-into-a-public-holiday",
        {},
        [("2026-11-22 22:00", "2026-11-23 02:00")],
        ["start 2026-11-22 22:00", "stop 2026-11-23 02:00", "reset 2026-11-23 22:00"],
    ),
    (
        "substitute-holiday",
        {},
        [("2026-05-06 03:00", None)],
        ["start 2026-05-06 03:00", "reset 2026-05-06 22:00"],
    ),
    (
        "extra-holiday-from-config",
        {"holidays": ["2026-12-29"]},
        [("2026-12-29 02:00", "2026-12-29 05:00")],
        ["start 2026-12-29 02:00", "stop 2026-12-29 05:00", "reset 2026-12-29 22:00"],
    ),
    (
        "extra-workday-saturday",
        {"workdays": ["2026-12-05"]},
        [("2026-12-05 09:00", None)],
        ["start 2026-12-05 09:00", "stop 2026-12-05 10:00", "reset 2026-12-05 10:00"],
    ),
    # --- KEDA's own semantics -----------------------------------------------------------------
    (
        "keda-daily-end-keeps-saturday-active",
        {"start": "0 9 * * 1-5", "end": "0 18 * * *"},
        [("2026-11-28 10:00", "2026-11-28 12:00")],
        [],
    ),
]

BERLIN_SCENARIOS = [
    (
        "berlin-spring-forward-weekend",
        [("2026-03-28 20:00", "2026-03-29 10:00")],
        [
            "start 2026-03-28 20:00+01:00",
            "stop 2026-03-29 10:00+02:00",
            "reset 2026-03-29 22:00+02:00",
        ],
    ),
    (
        "berlin-fall-back-default-stop",
        [("2026-10-24 23:00", None)],
        [
            "start 2026-10-24 23:00+02:00",
            "stop 2026-10-25 22:00+01:00",
            "reset 2026-10-25 22:00+01:00",
        ],
    ),
    (
        "berlin-weekend-across-the-switch",
        [("2026-03-27 14:00", "2026-03-30 08:00")],
        ["expand 2026-03-27 23:30+01:00", "reset 2026-03-30 10:00+02:00"],
    ),
]


def render(plan):
    local = plan.rules.timezone
    return [f"{a.kind.value} {a.at.astimezone(local):%Y-%m-%d %H:%M}" for a in plan.actions]


def requests(wakes, tz=None):
    kwargs = {} if tz is None else {"tz": tz}
    return [
        WakeRequest(at(start, **kwargs), at(stop, **kwargs) if stop else None)
        for start, stop in wakes
    ]


@pytest.mark.parametrize(
    ("overrides", "wakes", "expected"),
    [pytest.param(*s[1:], id=s[0]) for s in SCENARIOS],
)
def test_plan_scenario(overrides, wakes, expected):
    rules = make_rules(**overrides)
    plan = plan_environment(rules, requests(wakes), now=at("2026-01-01 00:00"))
    assert render(plan) == expected


@pytest.mark.parametrize(
    ("wakes", "expected"), [pytest.param(*s[1:], id=s[0]) for s in BERLIN_SCENARIOS]
)
def test_plan_scenario_across_daylight_saving(wakes, expected):
    rules = make_rules(tz=BERLIN, country="DE")
    plan = plan_environment(rules, requests(wakes, tz=BERLIN), now=at("2026-01-01 00:00"))
    assert [
        f"{a.kind.value} {a.at.astimezone(BERLIN).isoformat(sep=' ', timespec='minutes')}"
        for a in plan.actions
    ] == expected


def test_spring_forward_night_is_an_hour_shorter():
    rules = make_rules(tz=BERLIN, country="DE")
    plan = plan_environment(
        rules,
        requests([("2026-03-28 20:00", "2026-03-29 10:00")], tz=BERLIN),
        now=at("2026-01-01 00:00"),
    )
    (segment,) = plan.segments
    assert segment.end - segment.start == timedelta(hours=13)


def test_scenario_count_meets_the_bar():
    assert len(SCENARIOS) - 5 + len(BERLIN_SCENARIOS) >= 25


def test_wake_without_start_starts_now():
    now = at("2026-11-28 10:00")
    plan = plan_environment(make_rules(), [WakeRequest()], now=now)
    assert render(plan)[0] == "start 2026-11-28 10:00"


@pytest.mark.parametrize(
    ("start", "stop"),
    [
        pytest.param("2026-11-28 10:00", "2026-11-28 10:00", id="stop-equals-start"),
        pytest.param("2026-11-28 10:00", "2026-11-28 09:00", id="stop-before-start"),
    ],
)
def test_stop_not_after_start_is_rejected(start, stop):
    with pytest.raises(errors.WakeInvalid, match="is not after start"):
        plan_environment(make_rules(), requests([(start, stop)]), now=at("2026-11-28 00:00"))
