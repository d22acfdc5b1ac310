"""The Slack app on a real API server, as deploy/ runs it: logged in as its own
ServiceAccount, which may create, get, list, watch and patch EnvironmentWakes only.
Every request it makes is allowed, and it uses every verb it is granted."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from envwake.sandbox.slack import SlackEmulator
from envwake.slack.progress import THREAD
from tests.deploy.kustomize import build
from tests.deploy.test_deploy import granted
from tests.slack.conftest import ALICE, OPS, RunningApp, workspace

ROOT = Path(__file__).parents[2]
SLACK_APP = "system:serviceaccount:envwake-system:envwake-slack"
WAKES = "/apis/envwake.dev/v1alpha1/namespaces/team-a/environmentwakes"


async def test_the_slack_app_works_with_only_its_own_identity(kubeconfigs):
    server = kubeconfigs["server"]
    mark = server.audit_mark()
    with SlackEmulator() as slack:
        workspace(slack)
        app = RunningApp(slack, kubeconfigs["slack"], "team-a", lambda: datetime.now(UTC))
        await asyncio.to_thread(app.start)
        try:

            async def say(text: str) -> dict:
                fields = slack.slash_command(text, user=ALICE, channel=OPS)
                answer = await asyncio.to_thread(slack.deliver, fields)
                assert answer.status == 200, answer
                return answer.json()

            assert "waking *dev*" in (await say("start dev for 1h because envtest"))["text"]
            assert "waking *dev*" in (await say("start dev at tomorrow 23:00 for 1h"))["text"]
            step = slack.function_executed(
                {"environment": "dev", "requested_by": ALICE, "channel": OPS, "stop_time": "23:59"},
                execution="Fx0ENVTEST1",
            )
            for retry in range(2):  # Slack retries; the second finds (gets) the wake
                await asyncio.to_thread(slack.deliver, step, timestamp=int(time.time()) + retry)
            for _ in range(100):
                if "Fx0ENVTEST1" in slack.completions:
                    break
                await asyncio.sleep(0.1)
            assert slack.completions["Fx0ENVTEST1"][0] == "success"
            for _ in range(100):  # the watcher posts a headline for each, and records it
                _, listing = server.request("GET", WAKES)
                if all(THREAD in w["metadata"]["annotations"] for w in listing["items"]):
                    break
                await asyncio.sleep(0.1)
            assert len([m for m in slack.messages if m.thread_ts is None]) == 3
            status = await say("status dev")
            assert status["text"].startswith("*dev*: 3 active wakes")
            stopped = await say("stop dev")
            assert "stopAt set to" in stopped["text"]
            assert "had not started; cancelled" in stopped["text"]
        finally:
            await asyncio.to_thread(app.stop)
    requests = server.requests_by(SLACK_APP, since=mark)
    # (a fresh CRD can answer 429 "storage is (re)initializing" once: the app retries)
    refused = [
        (r["verb"], r["requestURI"]) for r in requests if r["responseStatus"]["code"] in (401, 403)
    ]
    assert refused == []
    used = {
        (r["objectRef"].get("apiGroup", ""), r["objectRef"]["resource"], r["verb"])
        for r in requests
        if "objectRef" in r
    }
    assert used == granted(build(ROOT / "deploy" / "base"), "envwake-slack"), sorted(used)
    _, listing = server.request("GET", WAKES)
    for item in listing["items"]:  # leave nothing for the tests that follow (as the admin)
        server.request("DELETE", f"{WAKES}/{item['metadata']['name']}")
