"""The suite-wide secret scan (tests/conftest.py) finds what it must, where it must."""

from __future__ import annotations

import logging

from envwake.sandbox import leaks
from envwake.sandbox.github import GitHubEmulator
from envwake.sandbox.slack import SlackEmulator


def test_secrets_handed_out_by_the_emulators_are_found_in_log_lines():
    with GitHubEmulator() as github, SlackEmulator() as slack:
        _, key = github.service.create_app()
        middle = key.decode().splitlines()[5]
        logging.getLogger("envwake.test").warning("oops: %s", middle)
        logging.getLogger("envwake.test").debug("and %s", slack.workspace.signing_secret)
    found = leaks.take()  # taken here, so this test itself does not fail
    assert [leak.where for leak in found] == [
        "log line of envwake.test",
        "log line of envwake.test",
    ]
    assert all("…" in str(leak) and len(leak.secret) == 8 for leak in found)


def test_secrets_sent_to_the_emulators_are_found():
    with SlackEmulator() as slack:
        slack.add_channel("C0TEST0001", "test")
        from slack_sdk import WebClient

        client = WebClient(token=slack.workspace.bot_token, base_url=slack.api_url)
        client.chat_postMessage(channel="C0TEST0001", text=f"token {slack.workspace.app_token}")
    found = [leak.where for leak in leaks.take()]
    assert "Slack chat.postMessage" in found  # (and in the Web API client's debug line)


def test_short_or_ordinary_values_are_not_secrets():
    leaks.remember("short", "-----BEGIN RSA PRIVATE KEY-----")
    leaks.inspect("somewhere", "short -----BEGIN RSA PRIVATE KEY----- text")
    assert leaks.take() == []
