"""Socket Mode: the app opens a websocket to Slack (the emulator) instead of serving HTTP."""

from __future__ import annotations

import asyncio

import pytest
import requests

from tests.slack.conftest import ALICE, NOW, OPS, RunningApp, wakes_in, write_kubeconfig


@pytest.fixture
async def socket_app(cluster, slack, tmp_path):
    _, url = cluster
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url, "team-a")
    running = RunningApp(slack, kubeconfig, "team-a", lambda: NOW)
    await asyncio.to_thread(running.start, socket_mode=True)
    yield running
    await asyncio.to_thread(running.stop)


async def test_slash_commands_and_workflow_steps_arrive_over_the_websocket(
    socket_app, cluster, slack
):
    emulator, _ = cluster
    await asyncio.to_thread(slack.wait_for_socket)
    fields = slack.slash_command("start dev for 2h because socket", user=ALICE, channel=OPS)
    ack = await asyncio.to_thread(slack.push, "slash_commands", fields)
    assert "waking *dev*" in ack["payload"]["text"]
    (wake,) = wakes_in(emulator).values()
    assert wake["spec"]["reason"] == "socket"

    event = slack.function_executed(
        {"environment": "dev", "requested_by": ALICE, "channel": OPS, "stop_time": "23:59"},
        execution="Fx0SOCKET01",
    )
    await asyncio.to_thread(slack.push, "events_api", event)
    for _ in range(100):
        if "Fx0SOCKET01" in slack.completions:
            break
        await asyncio.sleep(0.05)
    outcome, outputs = slack.completions["Fx0SOCKET01"]
    assert outcome == "success"
    assert outputs["wake_name"] in wakes_in(emulator)


async def test_in_socket_mode_only_health_is_served_over_http(socket_app):
    assert socket_app.url.endswith("/healthz")
    health = await asyncio.to_thread(requests.get, socket_app.url, timeout=5)
    assert health.status_code == 200
    events = socket_app.url.replace("/healthz", "/slack/events")
    refused = await asyncio.to_thread(requests.post, events, data="{}", timeout=5)
    assert refused.status_code == 404
