"""``envwake slack`` as it runs in production: a process with its secrets in the
environment, serving signed requests, stopping on SIGTERM, never printing a secret."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

from tests.slack.conftest import ALICE, CONFIG, OPS, wakes_in, write_kubeconfig


async def test_the_slack_process_serves_signed_requests_and_stops_on_sigterm(
    cluster, slack, tmp_path
):
    emulator, url = cluster
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url, "team-a")
    secrets = slack.workspace
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "envwake", "slack", "--port", "0", "--config-dir", str(CONFIG),
        "--api-url", slack.api_url,
        env={
            **os.environ,
            "KUBECONFIG": str(kubeconfig),
            "SLACK_BOT_TOKEN": secrets.bot_token,
            "SLACK_SIGNING_SECRET": secrets.signing_secret,
            "ENVWAKE_SLACK_HOST": "127.0.0.1",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    output: list[str] = []
    try:
        while True:
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
            assert line, "the app ended before it was ready: " + "".join(output)
            output.append(line)
            if line.startswith("envwake slack: ready on "):
                slack.request_url = line.split()[-1]
                break
        fields = slack.slash_command("start dev for 1h because process", user=ALICE, channel=OPS)
        answer = await asyncio.to_thread(slack.deliver, fields)
        assert answer.status == 200, answer
        forged = await asyncio.to_thread(
            slack.deliver, slack.slash_command("start dev", user=ALICE, channel=OPS), secret="x"
        )
        assert forged.status == 401
        (wake,) = wakes_in(emulator).values()
        assert wake["spec"]["reason"] == "process"
        process.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(process.stdout.read(), 30)
        output.append(rest.decode())
        assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = "".join(output)
    assert secrets.bot_token not in text
    assert secrets.signing_secret not in text


def test_missing_secrets_are_named_in_one_line_and_nothing_starts(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    done = subprocess.run(
        [sys.executable, "-m", "envwake", "slack", "--config-dir", str(CONFIG), "--socket-mode"],
        env={**env, "SLACK_BOT_TOKEN": "xoxp-a-user-token-not-a-bot-one"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "envwake: SLACK_BOT_TOKEN does not look like a bot token (xoxb-…); "
        "SLACK_APP_TOKEN is not set (an app-level xapp-… token, for Socket Mode)\n"
    )
    assert "xoxp-a-user-token" not in done.stderr
