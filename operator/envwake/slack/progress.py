"""What to post about a wake the Slack app created, and what it has posted already (pure).

The wake itself remembers: annotations name the channel, the person and the thread, and
``slack.envwake.dev/posted`` the last step and final phase posted, so after a restart
the app posts each step once. Steps come from ``status.steps`` (numbered by the
operator), phases from ``status.phase``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any

__all__ = [
    "CHANNEL",
    "DEFAULT_STOP",
    "LABEL",
    "POSTED",
    "THREAD",
    "USER",
    "VIA_SLACK",
    "Outgoing",
    "Posted",
    "pending",
]

LABEL = "envwake.dev/requested-via"
VIA_SLACK = "slack"
CHANNEL = "slack.envwake.dev/channel"
USER = "slack.envwake.dev/user"
THREAD = "slack.envwake.dev/thread"
DEFAULT_STOP = "slack.envwake.dev/default-stop"  # as the app understood it at creation
POSTED = "slack.envwake.dev/posted"

_QUIET = {"Pushed"}  # a step people need not see in the thread
_FINAL = {"Completed", "Failed"}
_ICONS = {
    "PullRequestOpened": ":twisted_rightwards_arrows:",
    "ChecksPassed": ":white_check_mark:",
    "Merged": ":merged:",
    "ClusterStarting": ":hourglass_flowing_sand:",
    "ClusterAvailable": ":large_green_circle:",
    "ServicesReady": ":rocket:",
    "Awake": ":sunny:",
    "ClusterStopping": ":hourglass_flowing_sand:",
    "ClusterStopped": ":red_circle:",
    "Asleep": ":zzz:",
    "Reset": ":leftwards_arrow_with_hook:",
}


@dataclass(frozen=True)
class Posted:
    """How far the thread of one wake has got."""

    step: int = 0
    phase: str = ""

    @classmethod
    def of(cls, wake: dict[str, Any]) -> Posted:
        text = ((wake.get("metadata") or {}).get("annotations") or {}).get(POSTED)
        try:
            data = json.loads(text) if text else {}
            return cls(int(data.get("step", 0)), str(data.get("phase", "")))
        except (ValueError, TypeError, AttributeError):
            return cls()

    def annotation(self) -> str:
        return json.dumps({"step": self.step, "phase": self.phase}, separators=(",", ":"))


@dataclass(frozen=True)
class Outgoing:
    """One message to post, and how far the thread has got once it is posted."""

    text: str
    after: Posted
    headline: bool = False  # starts the thread (posted in the channel, not as a reply)


def pending(wake: dict[str, Any], zone: tzinfo) -> list[Outgoing]:
    """The messages not posted yet for ``wake``, in order: the headline when the thread
    does not exist, each new step, then the final phase (done, or failed with why)."""
    annotations = (wake.get("metadata") or {}).get("annotations") or {}
    if not annotations.get(CHANNEL):
        return []
    posted = Posted.of(wake)
    status = wake.get("status") or {}
    items: list[Outgoing] = []
    if not annotations.get(THREAD):
        items.append(Outgoing(_headline(wake, zone), posted, headline=True))
    for step in status.get("steps") or []:
        number = int(step.get("n", 0))
        if number <= posted.step:
            continue
        posted = replace(posted, step=number)
        items.append(Outgoing("" if step.get("reason") in _QUIET else _step_text(step), posted))
    phase = str(status.get("phase") or "")
    if phase in _FINAL and posted.phase != phase:
        posted = replace(posted, phase=phase)
        items.append(Outgoing(_final_text(wake, phase), posted))
    if not items:
        return []
    # Quiet steps are not posted: each later message records them, and the last message
    # records any that follow it; with no message at all, a post-nothing record does.
    out = [item for item in items if item.text]
    if not out:
        return [Outgoing("", items[-1].after)]
    out[-1] = replace(out[-1], after=items[-1].after)
    return out


def _headline(wake: dict[str, Any], zone: tzinfo) -> str:
    meta, spec, status = wake["metadata"], wake.get("spec") or {}, wake.get("status") or {}
    annotations = meta.get("annotations") or {}
    user = annotations.get(USER)
    who = f"<@{user}>" if user else spec.get("requestedBy") or "someone"
    start = status.get("effectiveStartAt") or spec.get("startAt") or meta.get("creationTimestamp")
    stop = status.get("effectiveStopAt") or spec.get("stopAt")
    until = _local(stop, zone) or (
        f"{_local(annotations[DEFAULT_STOP], zone)} (the default)"
        if annotations.get(DEFAULT_STOP)
        else "the default stop"
    )
    reason = f" because {spec['reason']}" if spec.get("reason") else ""
    return (
        f":alarm_clock: {who} wakes *{spec.get('environment')}* from {_local(start, zone) or 'now'}"
        f" until {until}"
        f"{reason} (`{meta.get('namespace')}/{meta['name']}`). Progress in this thread."
    )


def _step_text(step: dict[str, Any]) -> str:
    reason = str(step.get("reason") or "")
    icon = (
        ":warning:" if step.get("type") == "Warning" else _ICONS.get(reason, ":small_blue_diamond:")
    )
    return f"{icon} {step.get('message') or reason}"


def _final_text(wake: dict[str, Any], phase: str) -> str:
    status = wake.get("status") or {}
    if phase == "Completed":
        return f":white_check_mark: {status.get('message') or 'done'}"
    conditions = {str(c.get("type")): c for c in status.get("conditions") or []}
    failed, ready = conditions.get("Failed") or {}, conditions.get("Ready") or {}
    why = failed.get("reason") if failed.get("status") == "True" else ready.get("reason")
    return f":x: failed ({why or 'unknown reason'}): {status.get('message') or ''}".rstrip(": ")


def _local(text: str | None, zone: tzinfo) -> str:
    if not text:
        return ""
    return datetime.fromisoformat(str(text)).astimezone(zone).strftime("%a %m-%d %H:%M %Z")
