"""The planner's normal windows against KEDA's own cron scaler.

DESIGN.md says a normal window runs "exactly as KEDA's cron scaler decides". The oracle
(tests/cluster/modules/keda/cronoracle) is KEDA's ``pkg/scalers`` at the pinned version,
unchanged, asked "active?" at each instant inside a synctest bubble whose fake clock
stands at that instant. Here the planner answers the same questions from the windows it
plans with (``NormalSchedule.windows`` then ``contains``), at every 10-minute sample of
a year, for schedules chosen where cron implementations part ways: both daylight-saving
switches of Europe/Berlin and America/New_York (firings in the hour that does not exist
and in the hour that happens twice), windows across midnight and across the weekend, a
half-hour zone, and crons that fire every half hour.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from envwake.planning.windows import NormalSchedule, contains
from tests.cluster.cluster import cluster_assets, why_unavailable

# (start, end, timezone)
SCHEDULES = [
    ("30 6 * * 1-5", "0 0 * * 2-6", "Asia/Tokyo"),  # envwake's default
    ("0 8 * * 1-5", "0 20 * * 1-5", "Europe/Berlin"),
    ("0 8 * * 1-5", "0 20 * * 1-5", "America/New_York"),
    ("0 22 * * *", "0 6 * * *", "Europe/Berlin"),  # across midnight, every night
    ("30 2 * * *", "30 3 * * *", "Europe/Berlin"),  # 02:30 does not exist one day a year
    ("30 1 * * *", "30 2 * * *", "America/New_York"),  # 01:30 twice, 02:30 never
    ("0 2 * * *", "0 1 * * *", "America/New_York"),  # starts in the missing hour
    ("15 2 * * 0", "45 2 * * 0", "Europe/Berlin"),  # only on Sundays: both switch days
    ("0 9 * * 6", "0 17 * * 0", "Europe/Berlin"),  # Saturday 09:00 to Sunday 17:00
    ("0 23 * * 5", "0 1 * * 1", "America/New_York"),  # Friday night to Monday 01:00
    ("*/30 * * * *", "15,45 * * * *", "UTC"),  # every half hour, a quarter of it
    ("0 9 * * 1-5", "30 17 * * 1-5", "Asia/Kolkata"),  # a half-hour zone
    ("0 0 1 * *", "0 0 2 * *", "America/New_York"),  # the first of every month
]
YEAR_START = datetime(2027, 1, 1, tzinfo=UTC)
SAMPLES = 365 * 24 * 6  # every 10 minutes, 2027


def _oracle() -> str:
    reason = why_unavailable()
    if reason is not None:
        if os.environ.get("ENVWAKE_REQUIRE_CLUSTER") == "1":
            pytest.fail(f"the cluster tier is required here: {reason}")
        pytest.skip(f"cluster tier: {reason}")
    assets = cluster_assets()
    assert assets is not None
    return str(assets / "cron-oracle")


def keda_says(
    triggers: list[tuple[str, str, str]], instants: list[datetime], tmp_path
) -> list[str]:
    questions, answers = tmp_path / "questions.json", tmp_path / "answers.json"
    questions.write_text(
        json.dumps(
            {
                "triggers": [{"start": s, "end": e, "timezone": z} for s, e, z in triggers],
                "instants": [i.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for i in instants],
            }
        )
    )
    done = subprocess.run(
        [_oracle(), "-test.run", "^TestOracle$", "-test.count=1"],
        env={**os.environ, "CRON_ORACLE_INPUT": str(questions), "CRON_ORACLE_OUTPUT": str(answers)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return list(json.loads(answers.read_text())["active"])


def test_the_planner_decides_every_sample_of_a_year_as_keda_does(tmp_path):
    instants = [YEAR_START + timedelta(minutes=10 * n) for n in range(SAMPLES)]
    keda = keda_says(SCHEDULES, instants, tmp_path)
    disagreements = {}
    for (start, end, zone), answers in zip(SCHEDULES, keda, strict=True):
        schedule = NormalSchedule(start, end, ZoneInfo(zone))
        windows = schedule.windows(instants[0], instants[-1])
        ours = "".join("1" if contains(windows, i) else "0" for i in instants)
        assert len(answers) == len(ours)
        differ = [instants[n] for n in range(len(ours)) if ours[n] != answers[n]]
        if differ:
            disagreements[(start, end, zone)] = [
                (i.isoformat(), "keda", answers[instants.index(i)]) for i in differ[:5]
            ] + [("count", len(differ))]
    assert not disagreements, disagreements
    # and the windows are not empty: each schedule is active at some samples and not others
    assert all("1" in a and "0" in a for a in keda)


def test_the_oracle_answers_as_keda_documents_its_cron_trigger(tmp_path):
    """The oracle itself, against the trigger's documented behaviour (a window is
    [start, end) in the trigger's zone): 08:00-20:00 Berlin on a Monday in winter."""
    berlin = ZoneInfo("Europe/Berlin")
    at = [
        datetime(2027, 1, 4, 7, 59, tzinfo=berlin),
        datetime(2027, 1, 4, 8, 0, tzinfo=berlin),
        datetime(2027, 1, 4, 19, 59, tzinfo=berlin),
        datetime(2027, 1, 4, 20, 0, tzinfo=berlin),
    ]
    (answers,) = keda_says([("0 8 * * 1-5", "0 20 * * 1-5", "Europe/Berlin")], at, tmp_path)
    assert answers == "0110"
