"""``envwake demo`` is what a newcomer runs first: it must do the whole flow, for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envwake", "demo", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_demo_runs_the_whole_flow_and_reports_it_as_json():
    done = run_demo("--json")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["environment"] == "dev"
    assert summary["ok"] is True
    # three dependency waves up, three down (dependents first)
    assert summary["prs_merged"] == 6
    assert summary["phases"] == ["Starting", "Awake", "Stopping", "Completed"]
    assert summary["clusters"] == {"shop-db": "stopped", "payments-db": "stopped"}
    assert summary["schedules_restored"] is True
    assert summary["seconds"] < 120
    story = done.stderr
    for reason in ("ClusterStarting", "PullRequestOpened", "ChecksPassed", "Merged", "Awake"):
        assert reason in story
    assert "the clock jumps from Sat 10:" in story  # the fast-forward is said plainly
    assert "Traceback" not in story


def test_demo_refuses_an_unknown_environment_with_one_line():
    done = run_demo("--environment", "nope")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "envwake: unknown environment 'nope' in config (known: dev, stg)"
    )
