"""A week of nights in the living world (benchmarks/soak.py, 7 days): the operator as its
own process killed five times, a team merging all day, Flux polling, lagging and failing
across a reset, CI slow, the normal schedule failing one morning, the Slack app
following. Fails on any miss, or anything else the soak checks."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from benchmarks.soak import TOKYO, Options, failures, soak, table

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="watches the killed process in /proc (Linux)"
)


async def test_a_week_of_nights_misses_nothing(tmp_path: Path):
    options = Options(
        days=7,
        kills=5,
        first_day=datetime(2026, 12, 24, tzinfo=TOKYO),  # Thursday: into the year-end closure
        every=2,  # a night, a weekend, a morning the normal schedule fails, one while down
        workdir=tmp_path,
        quiet=True,
    )
    result = await soak(options)
    shown = table(result, 0.0)
    assert result.tally.kills >= 5, shown
    assert result.tally.restarts >= 5, shown
    assert {w.kind for w in result.wakes if w.created} >= {
        "night",
        "weekend",
        "late-normal",
        "while-down",
    }, shown
    assert failures(result) == [], shown
