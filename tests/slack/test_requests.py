"""Requests sent to the running app as Slack sends them, signed (or not) over HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from envwake.sandbox.slack import sign
from envwake.slack.progress import THREAD
from tests.slack.conftest import ALICE, BOB, MALLORY, OPS, RANDOM, TEAM, wakes_in


async def deliver(slack, payload, **options):
    return await asyncio.to_thread(slack.deliver, payload, **options)


def command(slack, text, *, user=ALICE, channel=OPS, trigger_id=None):
    return slack.slash_command(text, user=user, channel=channel, trigger_id=trigger_id)


async def settle(app) -> None:
    """Give the watcher a moment (it posts from its own thread)."""
    await asyncio.sleep(0.3)


async def test_start_creates_one_wake_requested_by_the_slack_user(app, cluster, slack):
    emulator, _ = cluster
    answer = await deliver(slack, command(slack, "start dev at 18:30 until 23:00 because QA run"))
    assert answer.status == 200
    assert "waking *dev*" in answer.body
    assert "start: Fri 2026-11-27 18:30 JST" in answer.body
    assert "stop:  Fri 2026-11-27 23:00 JST" in answer.body
    (wake,) = wakes_in(emulator).values()
    assert wake["spec"] == {
        "environment": "dev",
        "startAt": "2026-11-27T18:30:00+09:00",
        "stopAt": "2026-11-27T23:00:00+09:00",
        "reason": "QA run",
        "requestedBy": "alice (Slack U0ALICE)",
    }
    assert wake["metadata"]["labels"] == {"envwake.dev/requested-via": "slack"}
    annotations = wake["metadata"]["annotations"]
    assert annotations["slack.envwake.dev/channel"] == OPS
    assert annotations["slack.envwake.dev/user"] == ALICE
    for _ in range(50):  # the watcher opens the thread in the channel
        if slack.messages:
            break
        await asyncio.sleep(0.1)
    (headline,) = slack.messages
    assert headline.channel == OPS
    assert headline.thread_ts is None
    assert "<@U0ALICE> wakes *dev* from Fri 11-27 18:30 JST until Fri 11-27 23:00 JST" in (
        headline.text
    )
    assert "because QA run" in headline.text


async def test_a_default_stop_is_computed_and_shown_before_anything_runs(app, cluster, slack):
    answer = await deliver(slack, command(slack, "start dev"))
    assert "start: now, Thu 2026-11-26 23:10 JST" in answer.body
    assert (
        "stop:  Fri 2026-11-27 00:00 JST (2026-11-26T15:00:00Z) (default: normal-window-end)"
        in (answer.body)
    )


UNSIGNED_OR_FORGED = {  # a timestamp as seconds from the moment the request is sent
    "unsigned": {"signed": False},
    "signed with another secret": {"secret": "not-the-signing-secret"},
    "older than 5 minutes": {"timestamp": -6 * 60},
    "from 6 minutes in the future": {"timestamp": +6 * 60},
}


@pytest.mark.parametrize("forgery", UNSIGNED_OR_FORGED, ids=list(UNSIGNED_OR_FORGED))
async def test_unsigned_forged_and_stale_requests_are_rejected_and_create_nothing(
    app, cluster, slack, forgery
):
    emulator, _ = cluster
    options = dict(UNSIGNED_OR_FORGED[forgery])
    if "timestamp" in options:
        options["timestamp"] += int(time.time())
    answer = await deliver(slack, command(slack, "start dev"), **options)
    assert answer.status == 401
    await settle(app)
    assert wakes_in(emulator) == {}
    assert slack.messages == []


async def test_a_tampered_body_is_rejected(app, cluster, slack):
    emulator, _ = cluster
    fields = command(slack, "status dev")
    signed_body = "&".join(f"{k}={v}" for k, v in fields.items())
    stamp = str(int(time.time()))
    signature = sign(slack.workspace.signing_secret, stamp, signed_body)
    tampered = signed_body.replace("status+dev", "start+dev").replace("status dev", "start dev")
    answer = await asyncio.to_thread(
        slack.post_raw,
        tampered,
        content_type="application/x-www-form-urlencoded",
        signed=False,
        headers={"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature},
    )
    assert answer.status == 401
    assert wakes_in(emulator) == {}


async def test_a_replayed_request_is_rejected_even_within_five_minutes(app, cluster, slack):
    emulator, _ = cluster
    fields = command(slack, "start dev for 2h")
    stamp = int(time.time())
    first = await deliver(slack, fields, timestamp=stamp)
    replay = await deliver(slack, fields, timestamp=stamp)
    assert first.status == 200
    assert replay.status == 401
    assert len(wakes_in(emulator)) == 1


async def test_the_same_request_signed_again_finds_its_wake_and_creates_no_second(
    app, cluster, slack
):
    """After a restart the replay guard is empty; the wake's name, made from Slack's
    trigger ID, still tells a request already handled."""
    emulator, _ = cluster
    fields = command(slack, "start dev for 2h", trigger_id="13345224609.738474920.8088930838d")
    stamp = int(time.time())  # read once: two reads can fall either side of a second
    await deliver(slack, fields, timestamp=stamp)
    again = await deliver(slack, fields, timestamp=stamp - 1)
    assert again.status == 200
    assert "already handled" in again.body
    assert len(wakes_in(emulator)) == 1


NOT_ALLOWED = {
    "a channel not on dev's list": (ALICE, RANDOM, "dev", "cannot be driven from this channel"),
    "a user in none of dev's groups": (
        MALLORY,
        OPS,
        "dev",
        "only members of <!subteam^S0DEVELOPERS>",
    ),
    "an environment not open to Slack": (ALICE, OPS, "stg", "stg is not open to Slack"),
    "an unknown environment": (
        ALICE,
        OPS,
        "prod",
        "unknown environment 'prod' (open to Slack: dev)",
    ),
}


@pytest.mark.parametrize("case", NOT_ALLOWED, ids=list(NOT_ALLOWED))
@pytest.mark.parametrize("action", ["start", "stop", "status", "plan"])
async def test_requests_outside_the_allow_list_are_refused_and_change_nothing(
    app, cluster, slack, case, action
):
    emulator, _ = cluster
    user, channel, environment, why = NOT_ALLOWED[case]
    if action == "stop":
        await deliver(slack, command(slack, "start dev", user=BOB, channel=TEAM))
        for _ in range(100):  # the watcher has opened its thread: nothing else will change it
            if all(THREAD in w["metadata"]["annotations"] for w in wakes_in(emulator).values()):
                break
            await asyncio.sleep(0.05)
    before = json.dumps(wakes_in(emulator), sort_keys=True)
    answer = await deliver(
        slack, command(slack, f"{action} {environment}", user=user, channel=channel)
    )
    assert answer.status == 200
    assert answer.json()["text"].startswith(":warning:")
    assert why in answer.json()["text"]
    assert answer.json()["response_type"] == "ephemeral"  # only the requester sees it
    assert json.dumps(wakes_in(emulator), sort_keys=True) == before


BAD_INPUT = {
    "": "usage: `/envwake start ENV",
    "wake dev": "unknown action 'wake'",
    "start": "which environment?",
    "start dev at 25:00": "at: '25:00' is not a time of day",
    "start dev at soon": "at: 'soon' is not a time",
    "start dev until 18:00 for 2h": "give `until` or `for`, not both",
    "start dev for forever": "for: ",
    "start dev at tomorrow 10:00 until tomorrow 09:00": "is not after the start",
    "start dev because": "`because` needs a reason",
    "stop dev at 10:00": "unexpected 'at' after stop",
    "start DEV!": "unknown environment 'DEV!'",
}


@pytest.mark.parametrize("text", BAD_INPUT, ids=[t or "(empty)" for t in BAD_INPUT])
async def test_bad_input_gets_one_clear_message_and_creates_nothing(app, cluster, slack, text):
    emulator, _ = cluster
    answer = await deliver(slack, command(slack, text))
    assert answer.status == 200
    message = answer.json()["text"]
    assert BAD_INPUT[text] in message, message
    assert wakes_in(emulator) == {}


async def test_stop_ends_the_environments_wakes_and_answers_in_the_channel(app, cluster, slack):
    emulator, _ = cluster
    await deliver(slack, command(slack, "start dev for 3h"))
    await deliver(slack, command(slack, "start dev at tomorrow 18:00 for 1h"))
    answer = await deliver(slack, command(slack, "stop dev", user=BOB, channel=TEAM))
    assert answer.json()["response_type"] == "in_channel"
    text = answer.json()["text"]
    assert text.startswith("<@U0BOB> stopped *dev*")
    assert "stopAt set to Thu 2026-11-26 23:10 JST" in text
    assert "had not started; cancelled" in text  # the app's identity may not delete
    started, later = sorted(wakes_in(emulator).values(), key=lambda w: "startAt" in w["spec"])
    assert started["spec"]["stopAt"] == "2026-11-26T23:10:00+09:00"
    assert later["spec"]["cancelled"] is True


async def test_status_and_plan_answer_with_the_state_and_the_timeline(app, cluster, slack):
    await deliver(slack, command(slack, "start dev at 18:30 for 3h because demo"))
    status = (await deliver(slack, command(slack, "status dev"))).json()
    assert status["response_type"] == "in_channel"
    assert status["text"].startswith("*dev*: 1 active wake")
    assert "Fri 11-27 18:30 JST -> Fri 11-27 21:30 JST" in status["text"]
    assert "by alice (Slack U0ALICE): demo" in status["text"]

    plan = (await deliver(slack, command(slack, "plan dev at tomorrow 05:00 for 2h"))).json()
    assert plan["response_type"] == "in_channel"
    assert "```" in plan["text"]
    assert "2026-11-27" in plan["text"]
    assert "(asked)" in plan["text"]


async def test_the_workflow_step_creates_a_wake_and_completes_with_its_name_and_phase(
    app, cluster, slack
):
    emulator, _ = cluster
    event = slack.function_executed(
        {
            "environment": "dev",
            "start_time": "18:30",
            "stop_time": "2026-11-27T22:00:00+09:00",
            "reason": "release rehearsal",
            "requested_by": BOB,
            "channel": TEAM,
        },
        execution="Fx0WAKE0001",
    )
    answer = await deliver(slack, event)
    assert answer.status == 200
    for _ in range(50):
        if "Fx0WAKE0001" in slack.completions:
            break
        await asyncio.sleep(0.1)
    outcome, outputs = slack.completions["Fx0WAKE0001"]
    assert outcome == "success", outputs
    ((name, wake),) = wakes_in(emulator).items()
    assert outputs == {"wake_name": name, "phase": "Pending"}
    assert wake["spec"]["requestedBy"] == "bob (Slack U0BOB)"
    assert wake["spec"]["startAt"] == "2026-11-27T18:30:00+09:00"
    assert wake["metadata"]["annotations"]["slack.envwake.dev/channel"] == TEAM

    again = await deliver(  # Slack retries an event it thinks was lost, signed anew
        slack,
        event,
        timestamp=int(time.time()) + 1,
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert again.status == 200
    await settle(app)
    assert len(wakes_in(emulator)) == 1
    assert slack.completions["Fx0WAKE0001"] == ("success", outputs)


async def test_a_workflow_step_that_is_not_allowed_fails_with_the_reason(app, cluster, slack):
    emulator, _ = cluster
    event = slack.function_executed(
        {"environment": "dev", "requested_by": MALLORY, "channel": OPS}, execution="Fx0WAKE0002"
    )
    await deliver(slack, event)
    for _ in range(50):
        if "Fx0WAKE0002" in slack.completions:
            break
        await asyncio.sleep(0.1)
    assert slack.completions["Fx0WAKE0002"] == (
        "error",
        "only members of <!subteam^S0DEVELOPERS> may drive dev from Slack",
    )
    assert wakes_in(emulator) == {}


async def test_a_rate_limited_post_is_retried_after_slacks_retry_after(app, cluster, slack):
    slack.rate_limit("chat.postMessage", times=1)
    await deliver(slack, command(slack, "start dev for 1h"))
    for _ in range(60):
        if slack.messages:
            break
        await asyncio.sleep(0.1)
    assert ("chat.postMessage", "ratelimited") in slack.calls
    assert len(slack.messages) == 1  # posted once, after waiting as Slack asked


async def test_no_token_or_secret_reaches_the_logs(app, cluster, slack, caplog):
    caplog.set_level(logging.DEBUG)
    await deliver(slack, command(slack, "start dev for 1h because logs"))
    await deliver(slack, command(slack, "start dev"), secret="forged")
    event = slack.function_executed(
        {"environment": "dev", "requested_by": ALICE, "channel": OPS}, execution="Fx0LOGS"
    )
    await deliver(slack, event)
    for _ in range(50):
        if "Fx0LOGS" in slack.completions and len(slack.messages) >= 2:
            break
        await asyncio.sleep(0.1)
    assert "Fx0LOGS" in slack.completions
    logged = caplog.text
    assert "chat.postMessage" in logged  # the Web API client logged its requests (DEBUG)
    for secret in (
        slack.workspace.bot_token,
        slack.workspace.signing_secret,
        *slack.workspace.function_tokens,
    ):
        assert secret not in logged
