"""A wake on a working day, on the local stack that lives its normal schedule: the 06:30
EventBridge schedules start the clusters and KEDA's cron triggers the pods. Awake is
what envwake sees, not what the plan says: when the normal schedule woke nothing, the
wake says so and, after the grace, envwake holds the environment itself."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from envwake.configdir import load_config_dir
from envwake.localstack import NAMESPACE, LocalStack
from envwake.sandbox.clock import VirtualClock
from envwake.wakes.api import connect
from envwake.wakes.request import rfc3339
from tests.fakes import QUICK_STACK
from tests.slack.conftest import wakes_in

from .test_wake_commands import CONFIG, envwake

TOKYO = ZoneInfo("Asia/Tokyo")


async def status_when(stack: LocalStack, reached, *, seconds: float = 120.0) -> dict:
    status: dict = {}
    for _ in range(int(seconds * 10)):
        found = list(wakes_in(stack.kubernetes).values())
        status = (found[0].get("status") or {}) if found else {}
        if reached(status):
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"not reached: {status}")


async def test_in_working_hours_a_wake_is_awake_as_the_normal_schedule_made_it(tmp_path, capsys):
    environments, _ = load_config_dir(Path(CONFIG))
    tuesday = datetime(2026, 12, 1, 18, 37, tzinfo=TOKYO)  # what envwake demo --keep showed
    clock = VirtualClock(tuesday, speed=120)
    stack = LocalStack(environments["dev"], workdir=tmp_path, clock=clock, timing=QUICK_STACK)
    async with stack, stack.operator():
        assert stack.cluster_states() == {"shop-db": "available", "payments-db": "available"}
        code, out, err = await envwake(
            capsys,
            stack.kubeconfig,
            "start",
            "dev",
            "--for",
            "2h",
            "--now",
            clock.now().isoformat(),
        )
        assert code == 0, out + err
        status = await status_when(stack, lambda s: s.get("phase") == "Awake")
        assert status["services"] == {"ready": 8, "total": 8}
        assert {c["id"]: c["state"] for c in status["clusters"]} == {
            "shop-db": "available",
            "payments-db": "available",
        }
        ready = next(c for c in status["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True"
    repo = stack.github.state.repositories[environments["dev"].config.git.repository]
    assert repo.pulls == {}  # nothing for envwake to do: the normal schedule has it awake


async def test_when_the_normal_schedule_did_not_wake_it_the_wake_says_so_then_holds_it(
    tmp_path, capsys
):
    environments, _ = load_config_dir(Path(CONFIG))
    early = datetime(2026, 12, 1, 6, 25, tzinfo=TOKYO)
    clock = VirtualClock(early, speed=60)
    stack = LocalStack(environments["dev"], workdir=tmp_path, clock=clock, timing=QUICK_STACK)
    async with stack:
        break_the_morning_starts(stack)  # (envwake puts back a schedule's state, not its target)
        assert clock.now() < datetime(2026, 12, 1, 6, 30, tzinfo=TOKYO), "set up too slowly"
        async with stack.operator():
            code, out, err = await envwake(
                capsys, stack.kubeconfig, "start", "dev", "--at", "06:31", "--for", "3h",
                "--now", clock.now().isoformat(),
            )  # fmt: skip
            assert code == 0, out + err
            late = await status_when(
                stack,
                lambda s: any(
                    c.get("reason") == "NormalScheduleLate" for c in s.get("conditions") or []
                ),
            )
            assert late["phase"] == "Starting"
            assert "cluster shop-db is stopped" in late["message"]
            assert "envwake holds it itself from Tue 06:45" in late["message"]
            clock.reset(clock.now(), speed=480)  # through the grace and the hold
            held = await status_when(stack, lambda s: s.get("phase") == "Awake")
            assert stack.cluster_states() == {"shop-db": "available", "payments-db": "available"}
            assert held["services"]["ready"] == 8
            steps = [s["reason"] for s in held["steps"]]
            assert steps.count("NormalScheduleLate") == 1, steps  # said once
            tuesday_starts = [
                outcome for when, name, outcome in stack.aws.fired
                if name.endswith("-start") and when.day == 1
            ]  # fmt: skip
            assert [o.startswith("failed: DBClusterNotFound") for o in tuesday_starts] == [
                True,
                True,
            ], tuesday_starts


async def test_a_wake_on_a_morning_still_waiting_for_last_nights_reset_is_held_too(tmp_path):
    """Found by the soak: after a night wake, the environment is asleep until the 10:00
    reset; a 07:00 wake on a morning the normal schedule failed was left down until that
    reset, because the late normal schedule was only looked for in the NORMAL state."""
    environments, _ = load_config_dir(Path(CONFIG))
    monday_night = datetime(2026, 11, 30, 23, 20, tzinfo=TOKYO)
    clock = VirtualClock(monday_night, speed=120)
    stack = LocalStack(environments["dev"], workdir=tmp_path, clock=clock, timing=QUICK_STACK)
    async with stack:
        break_the_morning_starts(stack)
        async with stack.operator():
            wakes = connect(str(stack.kubeconfig), None, NAMESPACE)
            for name, start, stop in (
                ("night", monday_night, datetime(2026, 12, 1, 1, 30, tzinfo=TOKYO)),
                ("morning", datetime(2026, 12, 1, 7, 0, tzinfo=TOKYO), None),
            ):
                spec = {"startAt": rfc3339(start, UTC), "requestedBy": "tests"}
                if stop is not None:
                    spec["stopAt"] = rfc3339(stop, UTC)
                await asyncio.to_thread(wakes.create, stack.wake_manifest(name, spec))
            await status_of(stack, "night", lambda s: s.get("phase") == "Extending")
            clock.reset(datetime(2026, 12, 1, 1, 30, tzinfo=TOKYO), speed=120)
            await status_of(
                stack, "night", lambda s: any(x["reason"] == "Asleep" for x in s.get("steps", []))
            )
            clock.reset(datetime(2026, 12, 1, 6, 59, tzinfo=TOKYO), speed=240)
            held = await status_of(stack, "morning", lambda s: s.get("phase") == "Awake")
            assert clock.now() < datetime(2026, 12, 1, 10, 0, tzinfo=TOKYO), (
                "held only at the reset"
            )
            assert stack.cluster_states() == {"shop-db": "available", "payments-db": "available"}
            assert held["services"]["ready"] == 8


def break_the_morning_starts(stack: LocalStack) -> None:
    """The 06:30 starts will fail: their targets name a cluster that is gone."""
    for cluster in stack.environment.clusters:
        scheduler = stack.aws.session(cluster.aws_account_id).client(
            "scheduler", endpoint_url=stack.aws.url
        )
        current = scheduler.get_schedule(Name=cluster.start_schedule_name)
        target = dict(current["Target"], Input=json.dumps({"DbClusterIdentifier": "gone"}))
        scheduler.update_schedule(
            **{k: current[k] for k in ("Name", "ScheduleExpression", "State")},
            Target=target,
            FlexibleTimeWindow=current["FlexibleTimeWindow"],
            ScheduleExpressionTimezone=current["ScheduleExpressionTimezone"],
        )


async def status_of(stack: LocalStack, name: str, reached, *, seconds: float = 180.0) -> dict:
    status: dict = {}
    for _ in range(int(seconds * 10)):
        status = (wakes_in(stack.kubernetes).get(name) or {}).get("status") or {}
        if reached(status):
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name}: not reached: {status}")


async def test_an_operator_restarted_during_the_hold_holds_from_the_same_instant(tmp_path):
    """Found by the soak: envwake holds the environment from the moment it found the
    normal schedule late (07:01:01.28); the wake's status keeps that to the second, so the
    operator restarted in the middle of the hold held from another instant: it stamped the
    pods' restartedAt again (two more pull requests, the pods rolled) and told the wake
    its wave and Awake steps a second time."""
    environments, _ = load_config_dir(Path(CONFIG))
    clock = VirtualClock(datetime(2026, 12, 1, 6, 25, tzinfo=TOKYO), speed=60)
    stack = LocalStack(environments["dev"], workdir=tmp_path, clock=clock, timing=QUICK_STACK)
    async with stack:
        repo = stack.github.state.repositories[environments["dev"].config.git.repository]
        break_the_morning_starts(stack)
        assert clock.now() < datetime(2026, 12, 1, 6, 30, tzinfo=TOKYO), "set up too slowly"
        async with stack.operator():
            wakes = connect(str(stack.kubeconfig), None, NAMESPACE)
            spec = {
                "startAt": rfc3339(datetime(2026, 12, 1, 7, 0, tzinfo=TOKYO), UTC),
                "stopAt": rfc3339(datetime(2026, 12, 1, 9, 0, tzinfo=TOKYO), UTC),
                "requestedBy": "tests",
            }
            await asyncio.to_thread(wakes.create, stack.wake_manifest("morning", spec))
            clock.reset(clock.now(), speed=480)  # through the grace and the hold
            held = await status_of(stack, "morning", lambda s: s.get("phase") == "Awake")
        holding = sorted(p.number for p in repo.pulls.values() if "/start-" in p.head)
        stamped = repo.store.read_file(repo.default_branch, "apps/shop/api/deployment.yaml")
        assert "restartedAt" in stamped, held
        async with stack.operator():  # a new process: what it knows is in the wake's status
            done = await status_of(stack, "morning", lambda s: s.get("phase") == "Completed")
    assert sorted(p.number for p in repo.pulls.values() if "/start-" in p.head) == holding
    told = [(s["reason"], s["message"]) for s in done["steps"]]
    assert len(told) == len(set(told)), told
    assert told[: len(held["steps"])] == [(s["reason"], s["message"]) for s in held["steps"]]
    assert ("Reset", "dev is back on its normal schedule") in told
