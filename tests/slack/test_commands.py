"""``/envwake`` text read into a command (pure)."""

from __future__ import annotations

import pytest

from envwake.slack.commands import Command, CommandInvalid, parse_command

GOOD = {
    "start dev": Command("start", "dev"),
    "START dev at 18:30": Command("start", "dev", at="18:30"),
    "start dev at tomorrow 05:30 until tomorrow 09:00": Command(
        "start", "dev", at="tomorrow 05:30", until="tomorrow 09:00"
    ),
    "start dev for 1h30m because the payments incident, again": Command(
        "start", "dev", duration="1h30m", reason="the payments incident, again"
    ),
    "start dev until 2026-11-28T22:00:00+09:00": Command(
        "start", "dev", until="2026-11-28T22:00:00+09:00"
    ),
    "stop dev": Command("stop", "dev"),
    "status   dev": Command("status", "dev"),
    "plan dev at today 20:00 for 2h": Command("plan", "dev", at="today 20:00", duration="2h"),
}


@pytest.mark.parametrize("text", GOOD)
def test_commands_are_read(text):
    assert parse_command(text) == GOOD[text]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("start dev at", "`at` needs a value"),
        ("start dev at 10:00 at 11:00", "`at` is given twice"),
        ("status dev because reasons", "`because` goes with start only"),
        ("plan dev soon", "unexpected 'soon' after plan"),
        ("help", "usage:"),
    ],
)
def test_unreadable_commands_say_why(text, message):
    with pytest.raises(CommandInvalid, match=message):
        parse_command(text)


def test_the_app_manifest_matches_the_app():
    """deploy/slack/app-manifest.yaml declares the step and command the app serves."""
    import inspect
    from pathlib import Path

    from ruamel.yaml import YAML

    from envwake.slack import app as slack_app

    manifest = YAML(typ="safe").load(
        (Path(__file__).parents[2] / "deploy" / "slack" / "app-manifest.yaml").read_text()
    )
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == slack_app.COMMAND
    step = manifest["functions"][slack_app.FUNCTION_CALLBACK_ID]
    source = inspect.getsource(slack_app.SlackBridge.step)
    for name in step["input_parameters"]:
        assert f'inputs.get("{name}")' in source, name
    assert set(step["output_parameters"]) == {"wake_name", "phase"}
    assert 'return {"wake_name": name, "phase": phase}' in source
    assert "function_executed" in manifest["settings"]["event_subscriptions"]["bot_events"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "users:read", "usergroups:read"} <= scopes
    for url in (command["url"], manifest["settings"]["event_subscriptions"]["request_url"]):
        assert url.endswith("/slack/events")
