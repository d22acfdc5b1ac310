"""What the app posts for a wake, and how it remembers what it posted (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from envwake.reconciler.report import Step
from envwake.reconciler.status import STEPS_KEPT, record_steps
from envwake.slack.progress import (
    CHANNEL,
    DEFAULT_STOP,
    POSTED,
    THREAD,
    USER,
    Posted,
    pending,
)
from tests.slack.conftest import TOKYO

NOW = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


def wake(steps=(), phase="Starting", posted=None, thread="1800000001.000100", **extra):
    annotations = {CHANNEL: "C0DEVOPS01", USER: "U0ALICE"}
    if thread:
        annotations[THREAD] = thread
    if posted is not None:
        annotations[POSTED] = posted.annotation()
    annotations.update(extra)
    return {
        "metadata": {
            "name": "dev-1",
            "namespace": "team-a",
            "annotations": annotations,
            "creationTimestamp": "2026-11-28T01:00:00Z",
        },
        "spec": {"environment": "dev", "reason": "incident 42"},
        "status": {
            "phase": phase,
            "message": "done: dev is back on its normal schedule",
            "steps": [
                {"n": n, "reason": reason, "message": message, "type": kind}
                for n, (reason, message, kind) in enumerate(steps, start=1)
            ],
        },
    }


STEPS = [
    ("Pushed", "pushed envwake/dev-start", "Normal"),
    ("PullRequestOpened", "opened pull request #1", "Normal"),
    ("ChecksPassed", "checks passed on pull request #1", "Normal"),
    ("Merged", "merged pull request #1", "Normal"),
]


def test_a_wake_without_a_thread_starts_one_with_a_headline():
    (headline,) = pending(wake(thread=None, **{DEFAULT_STOP: "2026-11-28T22:00:00+09:00"}), TOKYO)
    assert headline.headline
    assert headline.text == (
        ":alarm_clock: <@U0ALICE> wakes *dev* from Sat 11-28 10:00 JST until Sat 11-28 22:00 JST "
        "(the default) because incident 42 (`team-a/dev-1`). Progress in this thread."
    )
    assert headline.after == Posted(0, "")


def test_each_new_step_is_posted_once_and_quiet_ones_are_only_remembered():
    out = pending(wake(STEPS), TOKYO)
    assert [o.text for o in out] == [
        ":twisted_rightwards_arrows: opened pull request #1",
        ":white_check_mark: checks passed on pull request #1",
        ":merged: merged pull request #1",
    ]
    assert [o.after.step for o in out] == [2, 3, 4]  # "Pushed" (1) went with the next one
    assert pending(wake(STEPS, posted=Posted(4, "")), TOKYO) == []
    assert [o.text for o in pending(wake(STEPS, posted=Posted(3, "")), TOKYO)] == [
        ":merged: merged pull request #1"
    ]


def test_only_quiet_steps_are_remembered_without_a_post():
    (only,) = pending(wake(STEPS[:1]), TOKYO)
    assert only.text == ""
    assert only.after == Posted(1, "")


def test_a_failure_is_posted_with_its_reason_once():
    failed = wake(
        [("GitHubUnavailable", "will retry: GitHub answered 502", "Warning")], phase="Failed"
    )
    failed["status"]["message"] = "checks failed on pull request #3: kubeconform"
    failed["status"]["conditions"] = [
        {"type": "Failed", "status": "True", "reason": "ChecksFailed"},
    ]
    out = pending(failed, TOKYO)
    assert [o.text for o in out] == [
        ":warning: will retry: GitHub answered 502",
        ":x: failed (ChecksFailed): checks failed on pull request #3: kubeconform",
    ]
    assert out[-1].after == Posted(1, "Failed")
    assert (
        pending(wake(failed["status"]["steps"] and [], phase="Failed", posted=out[-1].after), TOKYO)
        == []
    )


def test_completion_is_the_last_word():
    out = pending(wake(STEPS, phase="Completed", posted=Posted(4, "")), TOKYO)
    assert [o.text for o in out] == [":white_check_mark: done: dev is back on its normal schedule"]


def test_a_wake_not_from_slack_or_with_a_broken_record_is_handled():
    no_channel = wake(STEPS)
    del no_channel["metadata"]["annotations"][CHANNEL]
    assert pending(no_channel, TOKYO) == []
    broken = wake(STEPS, **{POSTED: "{not json"})
    assert len(pending(broken, TOKYO)) == 3  # starts over rather than failing
    assert json.loads(Posted(7, "Failed").annotation()) == {"step": 7, "phase": "Failed"}


def test_the_operator_numbers_steps_over_the_wakes_life_and_keeps_the_latest():
    first = record_steps([], [Step("Pushed", "a"), Step("Merged", "b")], now=NOW)
    assert [s["n"] for s in first] == [1, 2]
    assert first[0] == {
        "n": 1,
        "reason": "Pushed",
        "message": "a",
        "type": "Normal",
        "at": "2026-11-28T01:00:00Z",
    }
    many = record_steps(first, [Step("Awake", str(i)) for i in range(STEPS_KEPT)], now=NOW)
    assert len(many) == STEPS_KEPT
    assert many[-1]["n"] == STEPS_KEPT + 2
    assert many[0]["n"] == 3
