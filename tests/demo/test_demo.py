"""``envwake demo`` is what a newcomer runs first: it must do the whole flow, for real."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
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


def test_demo_runs_the_whole_flow_reports_it_as_json_and_keeps_the_stack():
    demo = subprocess.Popen(
        [sys.executable, "-m", "envwake", "demo", "--json", "--keep"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    watchdog = threading.Timer(240, demo.kill)  # a hung demo fails the test, not the suite
    watchdog.start()
    try:
        assert demo.stdout is not None
        assert demo.stderr is not None
        summary = json.loads(demo.stdout.readline())  # printed as soon as the flow is over
        story = []
        for line in demo.stderr:
            story.append(line)
            if "Press Ctrl-C" in line:
                break
        assert summary["environment"] == "dev"
        assert summary["ok"] is True, "".join(story)
        # three dependency waves up, three down (dependents first)
        assert summary["prs_merged"] == 6
        assert summary["phases"] == ["Starting", "Awake", "Stopping", "Completed"]
        assert summary["clusters"] == {"shop-db": "stopped", "payments-db": "stopped"}
        assert summary["schedules_restored"] is True
        assert summary["seconds"] < 120
        told = "".join(story)
        for reason in ("ClusterStarting", "PullRequestOpened", "ChecksPassed", "Merged", "Awake"):
            assert reason in told
        # The fast-forward is said plainly (from when the wake was seen awake: how far into
        # the morning that is depends on how loaded the machine is).
        assert re.search(r"the clock jumps from Sat \d\d:\d\d:\d\d to Sat 22:00:00", told), told
        assert "Traceback" not in told

        # --keep: the stack stays up, and the CLI works against it
        [export] = [line for line in story if "export KUBECONFIG=" in line]
        kubeconfig = export.split("=", 1)[1].strip()
        status = subprocess.run(
            [sys.executable, "-m", "envwake", "status", "--kubeconfig", kubeconfig],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert status.returncode == 0, status.stderr
        assert "  envwake/demo-saturday  Completed" in status.stdout
        demo.send_signal(signal.SIGINT)
        assert demo.wait(60) == 0
    finally:
        watchdog.cancel()
        if demo.poll() is None:
            demo.kill()
        demo.communicate()  # reap it and close its pipes


def test_demo_refuses_an_unknown_environment_with_one_line():
    done = run_demo("--environment", "nope")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "envwake: unknown environment 'nope' in config (known: dev, stg)"
    )
