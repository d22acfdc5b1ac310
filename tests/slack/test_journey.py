"""A wake asked for in Slack, followed to the end in its thread: the operator on the
local stack does the work, the app posts each step once, also across its own restart."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path

from envwake.configdir import load_config_dir
from envwake.localstack import NAMESPACE, LocalStack
from envwake.sandbox.clock import VirtualClock
from envwake.sandbox.slack import SlackEmulator
from envwake.slack.progress import pending
from tests.fakes import QUICK_STACK
from tests.slack.conftest import ALICE, CONFIG, OPS, TOKYO, RunningApp, wakes_in, workspace

SATURDAY = datetime(2026, 11, 28, 10, 0, tzinfo=TOKYO)


async def until(condition, *, seconds: float = 120.0, what: str = "", show=lambda: "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {show()}"
        await asyncio.sleep(0.1)


async def test_a_wake_from_slack_is_followed_step_by_step_in_its_thread(tmp_path: Path):
    environments, _ = load_config_dir(CONFIG)
    clock = VirtualClock(SATURDAY, speed=120)
    stack = LocalStack(environments["dev"], workdir=tmp_path, clock=clock, timing=QUICK_STACK)
    with SlackEmulator() as slack:
        workspace(slack)
        async with stack, stack.operator() as runtime:
            app = RunningApp(slack, stack.kubeconfig, NAMESPACE, clock.now)
            await asyncio.to_thread(app.start)

            def wake() -> dict:
                (only,) = wakes_in(stack.kubernetes).values()
                return only

            def thread() -> list[str]:
                headlines = [m for m in slack.messages if m.thread_ts is None]
                if not headlines:
                    return []
                return [m.text for m in slack.thread(OPS, headlines[0].ts)]

            answer = await asyncio.to_thread(
                slack.deliver,
                slack.slash_command("start dev because incident 42", user=ALICE, channel=OPS),
            )
            assert "waking *dev*" in answer.json()["text"]
            await until(
                lambda: len(thread()) >= 2,
                what="the first steps in the thread",
                show=lambda: (slack.messages, wake()),
            )

            # The app goes away while the operator works on, and comes back
            await asyncio.to_thread(app.stop)
            posted_before = len(thread())
            await until(
                lambda: len(wake().get("status", {}).get("steps", [])) > posted_before + 2,
                what="steps made while the app is away",
            )
            await asyncio.to_thread(app.start)
            await until(
                lambda: (wake().get("status") or {}).get("phase") in ("Awake", "Extending"),
                what="the wake to be awake",
            )
            await until(lambda: any(":sunny:" in t for t in thread()), what="Awake in thread")

            stop = await asyncio.to_thread(
                slack.deliver, slack.slash_command("stop dev", user=ALICE, channel=OPS)
            )
            assert "stopAt set to Sat 2026-11-28" in stop.json()["text"]
            await until(lambda: any(":zzz:" in t for t in thread()), what="asleep in the thread")
            reset_at = datetime.fromisoformat(wake()["status"]["resetAt"])
            clock.reset(reset_at, speed=clock.speed)  # fast-forward to the reset
            await runtime.poke("dev")
            await until(lambda: any(t.startswith(":white_check_mark: done") for t in thread()))
            await asyncio.sleep(0.5)  # nothing more may come
            final = wake()
            await asyncio.to_thread(app.stop)

    texts = thread()
    steps = final["status"]["steps"]
    assert steps[0]["n"] == 1, "all of the wake's steps are still in its status"
    shown = [s for s in steps if s["reason"] != "Pushed"]
    assert len(texts) == len(shown) + 1, texts  # every step once, and the final word
    for step, text in zip(shown, texts, strict=False):  # in the order they happened
        assert text.endswith(" " + step["message"]), (step, text)
    assert texts[-1] == ":white_check_mark: done: dev is back on its normal schedule"
    reasons = [s["reason"] for s in shown]
    for expected in (
        "PullRequestOpened",
        "ChecksPassed",
        "Merged",
        "ClusterStarting",
        "ClusterAvailable",
        "ServicesReady",
        "Awake",
        "ClusterStopped",
        "Asleep",
        "ScheduleRestored",
    ):
        assert expected in reasons
    assert pending(final, TOKYO) == []
    (headline,) = [m for m in slack.messages if m.thread_ts is None]
    assert headline.text.startswith(":alarm_clock: <@U0ALICE> wakes *dev* from Sat 11-28 1")
    assert "until Sat 11-28 22:00 JST (the default) because incident 42" in headline.text
