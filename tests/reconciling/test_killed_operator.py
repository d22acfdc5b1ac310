"""``envwake run`` killed with SIGKILL at each step of a wake, and started again.

The operator runs as the process it is in production, on the local stack: Kubernetes
(kmock's emulator), GitHub (our emulator, CI included), AWS (moto) and a Flux that
applies what is merged. They share one virtual clock with the process (through a file),
so a whole night passes in seconds. Each injection point is a request the operator
makes: the emulator carries it out, then kills the process before the answer leaves
(for git, just after), so the operator dies not knowing that its step happened. The
points are armed one after the other in a single wake: every restart begins from the
wreckage of the one before.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from envwake.configdir import load_config_dir
from envwake.localstack import NAMESPACE, LocalStack, OperatorProcess
from envwake.planning.waves import start_waves, stop_waves
from envwake.sandbox import leaks
from envwake.sandbox.clock import VirtualClock
from envwake.wakes.api import connect
from envwake.wakes.request import rfc3339
from tests.fakes import QUICK_STACK
from tests.slack.conftest import CONFIG, TOKYO, wakes_in

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="watches the killed process in /proc (Linux)"
)

SATURDAY = datetime(2026, 11, 28, 10, 0, tzinfo=TOKYO)
SPEED = 60.0  # virtual seconds per real second while the operator works


@dataclass(frozen=True)
class KillPoint:
    name: str
    phase: str  # start, stop or reset: which part of the wake it belongs to
    matches: Callable[[str, str], bool]  # (service, request) -> whether to kill here


def github(method: str, path: str) -> Callable[[str, str], bool]:
    return lambda service, request: (
        service == "github" and re.fullmatch(f"{method} {path}", request) is not None
    )


def aws(action: str) -> Callable[[str, str], bool]:
    return lambda service, request: service == "aws" and request == action


CLONE = github("POST", r"/[^ ]+\.git/git-upload-pack")
PUSH = github("POST", r"/[^ ]+\.git/git-receive-pack")
OPEN = github("POST", r"/repos/[^ ]+/pulls")
CHECKS = github("GET", r"/repos/[^ ]+/commits/\w+/check-runs")
MERGE = github("PUT", r"/repos/[^ ]+/pulls/\d+/merge")

# In the order the wake reaches them; each is armed once the one before has fired.
POINTS = [
    KillPoint("after the clone", "start", CLONE),
    KillPoint("after holding a schedule", "start", aws("UpdateSchedule")),
    KillPoint("after a cluster start", "start", aws("StartDBCluster")),
    KillPoint("after the push", "start", PUSH),
    KillPoint("after the PR is opened", "start", OPEN),
    KillPoint("while checks run", "start", CHECKS),
    KillPoint("after the merge", "start", MERGE),
    KillPoint("after a stop's push", "stop", PUSH),
    KillPoint("after a stop's PR is opened", "stop", OPEN),
    KillPoint("while a stop's checks run", "stop", CHECKS),
    KillPoint("after a stop's merge", "stop", MERGE),
    KillPoint("during the stop of a cluster", "stop", aws("StopDBCluster")),
    KillPoint("during the reset", "reset", aws("UpdateSchedule")),
]


@dataclass
class Killer:
    """Kills the operator at the armed point, from inside the emulator that served it."""

    operator: OperatorProcess | None = None
    phase: str = "start"
    armed: list[KillPoint] = field(default_factory=lambda: list(POINTS))
    fired: list[str] = field(default_factory=list)

    def __call__(self, service: str, request: str) -> None:
        if not self.armed or self.operator is None or not self.operator.pid:
            return  # (no kill until the next incarnation runs)
        point = self.armed[0]
        if point.phase != self.phase or not point.matches(service, request):
            return
        self.armed.pop(0)
        self.operator.kill()
        self.fired.append(point.name)


async def test_sigkill_at_each_step_of_a_wake_converges_to_the_same_end(tmp_path: Path):
    environments, _ = load_config_dir(CONFIG)
    environment = environments["dev"]
    clock = VirtualClock(SATURDAY, speed=SPEED)
    clock_file = tmp_path / "clock.json"
    clock.share(clock_file)
    stack = LocalStack(environment, workdir=tmp_path / "stack", clock=clock, timing=QUICK_STACK)
    killer = Killer()
    async with stack:
        repo = stack.github.state.repositories[environment.config.git.repository]
        before = {
            s.manifest.scaled_object.path: repo.store.read_file(
                repo.default_branch, s.manifest.scaled_object.path
            )
            for s in environment.services
        }
        (stack.workdir / "operator").mkdir()
        stack.github.after_request = lambda method, path, status: killer(
            "github", f"{method} {path}"
        )
        stack.aws.after_action(lambda action: killer("aws", action))
        operator = killer.operator = OperatorProcess(stack, CONFIG, clock_file)
        await operator.start()
        try:
            await _wake_through_the_night(stack, clock, operator, killer)
        finally:
            await operator.stop()
            stack.aws.after_action(None)
            stack.github.after_request = None
            for log in operator.logs:
                leaks.inspect(f"operator log {log.name}", log.read_text(errors="replace"))

        assert killer.fired == [p.name for p in POINTS]
        assert len(operator.logs) == len(POINTS) + 1  # one incarnation per kill, and the first

        pulls = list(repo.pulls.values())
        merged = [pr for pr in pulls if pr.merged]
        waves = [w for w in start_waves(environment) + stop_waves(environment) if w.services]
        assert len(merged) == len({pr.head for pr in merged}) == len(waves)  # one per wave
        assert all(pr.state == "closed" for pr in pulls), [(p.number, p.state) for p in pulls]
        assert set(repo.store.refs()) == {repo.default_branch}, "no branch left behind"
        for path, text in before.items():  # each back byte for byte (fraud's absent stays)
            assert repo.store.read_file(repo.default_branch, path) == text, path
        assert set(stack.cluster_states().values()) == {"stopped"}
        assert stack.schedules_as_configured(), "the reset put every schedule back"


async def _wake_through_the_night(
    stack: LocalStack, clock: VirtualClock, operator: OperatorProcess, killer: Killer
) -> None:
    wakes = connect(str(stack.kubeconfig), None, NAMESPACE)
    spec = {
        "startAt": rfc3339(SATURDAY, UTC),
        "stopAt": rfc3339(SATURDAY + timedelta(hours=6), UTC),  # minutes of real time
        "reason": "killed at every step",
        "requestedBy": "tests",
    }
    await asyncio.to_thread(wakes.create, stack.wake_manifest("killed", spec))

    async def until(reached: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        deadline = time.monotonic() + 150
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            await operator.restart_when_killed()
            (wake,) = wakes_in(stack.kubernetes).values()
            status = wake.get("status") or {}
            if reached(status):
                return status
            assert status.get("phase") != "Failed", status
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"{what}: not reached; fired {killer.fired}; wake {status}; log: {operator.tail()}"
        )

    status = await until(lambda s: s.get("phase") in ("Awake", "Extending"), "awake")
    assert killer.armed[0].phase == "stop", f"start points not reached: {killer.armed}"
    killer.phase = "stop"
    fast_forward(clock, status["effectiveStopAt"])
    status = await until(
        lambda s: any(step["reason"] == "Asleep" for step in s.get("steps", [])), "asleep"
    )
    assert killer.armed[0].phase == "reset", f"stop points not reached: {killer.armed}"
    killer.phase = "reset"
    fast_forward(clock, status["resetAt"])
    await until(lambda s: s.get("phase") == "Completed", "completed after the reset")


def fast_forward(clock: VirtualClock, to: str) -> None:
    """Jump to ``to``, unless (on a slow machine) the clock is already past it."""
    clock.reset(max(datetime.fromisoformat(to), clock.now()), speed=SPEED)
