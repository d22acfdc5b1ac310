"""What a person asks for (wake ENV from T until T, stop ENV), understood the same way
whether it was typed on the command line or in Slack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from envwake import errors
from envwake.model.durations import parse_duration
from envwake.model.loading import Environment
from envwake.model.wake import WakeSpec
from envwake.planning import Rules, WakeRequest, plan_environment
from envwake.wakes.api import WakeApi
from envwake.wakes.times import parse_when

__all__ = [
    "DONE_PHASES",
    "WakeOrder",
    "describe_wake",
    "end_wakes",
    "rfc3339",
    "show",
    "start_of",
    "understand",
    "wake_body",
]

DONE_PHASES = ("Completed", "Failed")


@dataclass(frozen=True)
class WakeOrder:
    """A wake as understood: the spec to create and the instants it means."""

    spec: dict[str, Any]
    start: datetime | None  # None: from now
    stop: datetime | None  # None: the default stop, below
    default_stop: tuple[datetime, str] | None  # (when, why) when the config is at hand

    def summary(self, zone: tzinfo | None, now: datetime) -> list[str]:
        """``start: …`` and ``stop: …`` as people read them."""
        lines = [f"start: {show(self.start, zone) if self.start else 'now, ' + show(now, zone)}"]
        if self.stop is not None:
            lines.append(f"stop:  {show(self.stop, zone)}")
        elif self.default_stop is not None:
            when, why = self.default_stop
            lines.append(f"stop:  {show(when, zone)} (default: {why})")
        else:
            lines.append("stop:  the default (the operator computes it from the config)")
        return lines


def understand(
    environment_name: str,
    environment: Environment | None,
    *,
    zone: tzinfo | None,
    now: datetime,
    at: str | None = None,
    until: str | None = None,
    duration: str | None = None,
    reason: str | None = None,
    requested_by: str | None = None,
    names: tuple[str, str, str] = ("--at", "--until", "--for"),
) -> WakeOrder:
    """Read ``at``/``until``/``duration`` in ``zone`` and check the spec the operator will
    check; ``names`` are what the caller calls those three in its messages."""
    at_name, until_name, for_name = names
    if until and duration:
        raise errors.WakeInvalid(f"give {until_name} or {for_name}, not both")
    start = _when(at, at_name, now=now, after=now, zone=zone) if at else None
    stop: datetime | None = None
    if until:
        stop = _when(until, until_name, now=now, after=start or now, zone=zone)
    elif duration:
        try:
            stop = (start or now) + parse_duration(duration)
        except ValueError as exc:
            raise errors.WakeInvalid(f"{for_name}: {exc}") from None
    if stop is not None and stop <= (start or now):
        raise errors.WakeInvalid(
            f"{until_name} {show(stop, zone)} is not after the start {show(start or now, zone)}"
        )
    if stop is not None and stop <= now:
        raise errors.WakeInvalid(f"{until_name} {show(stop, zone)} has already passed")
    spec: dict[str, Any] = {"environment": environment_name}
    if start is not None:
        spec["startAt"] = rfc3339(start, zone)
    if stop is not None:
        spec["stopAt"] = rfc3339(stop, zone)
    if reason:
        spec["reason"] = reason
    if requested_by:
        spec["requestedBy"] = requested_by
    _validate(spec)
    default_stop = None
    if stop is None and environment is not None:
        plan = plan_environment(
            Rules.from_config(environment.config), [WakeRequest(start, None)], now=now
        )
        default_stop = (plan.wakes[0].stop, plan.wakes[0].stop_reason.value)
    return WakeOrder(spec, start, stop, default_stop)


def wake_body(
    spec: dict[str, Any],
    *,
    name: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The EnvironmentWake to create (named ``ENV-xxxxx`` by the API server without ``name``)."""
    metadata: dict[str, Any] = (
        {"name": name} if name else {"generateName": f"{spec['environment']}-"}
    )
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "envwake.dev/v1alpha1",
        "kind": "EnvironmentWake",
        "metadata": metadata,
        "spec": spec,
    }


def end_wakes(
    api: WakeApi,
    environment: str,
    *,
    now: datetime,
    zone: tzinfo | None,
    name: str | None = None,
    delete: bool = True,
) -> list[str]:
    """End ``environment``'s active wakes now: started ones get stopAt = now, ones not
    started yet are deleted (or, with ``delete=False``, for identities that may not delete,
    cancelled). One line per wake; none when there was nothing to end."""
    wakes = [
        w
        for w in api.list()
        if (w.get("spec") or {}).get("environment") == environment
        and (name is None or w["metadata"]["name"] == name)
        and (w.get("status") or {}).get("phase") not in DONE_PHASES
    ]
    lines = []
    for wake in wakes:
        wake_name = wake["metadata"]["name"]
        if start_of(wake) > now and delete:
            api.delete(wake_name)
            lines.append(f"{api.namespace}/{wake_name}: had not started; deleted")
        elif start_of(wake) > now:
            api.patch_spec(wake_name, {"cancelled": True})
            lines.append(f"{api.namespace}/{wake_name}: had not started; cancelled")
        else:
            api.patch_spec(wake_name, {"stopAt": rfc3339(now, zone)})
            lines.append(
                f"{api.namespace}/{wake_name}: stopAt set to {show(now, zone)}; the operator "
                "puts the environment to sleep unless another wake needs it"
            )
    return lines


def describe_wake(wake: dict[str, Any], zone: tzinfo) -> list[str]:
    """A wake as ``envwake status`` shows it: a headline, then indented details."""
    meta, spec, status = wake["metadata"], wake.get("spec") or {}, wake.get("status") or {}
    start = status.get("effectiveStartAt") or spec.get("startAt")
    stop = status.get("effectiveStopAt") or spec.get("stopAt")
    span = f"{_show_text(start, zone) or 'created'} -> {_show_text(stop, zone) or 'default'}"
    lines = [f"  {meta.get('namespace')}/{meta['name']}  {status.get('phase', 'Pending')}  {span}"]
    details = []
    next_action = (status.get("nextAction") or {}).get("description")
    if next_action:
        details.append(f"next: {next_action}")
    if status.get("resetAt"):
        details.append(f"reset: {_show_text(status['resetAt'], zone)}")
    services = status.get("services")
    if services:
        details.append(f"services {services.get('ready', 0)}/{services.get('total', 0)} ready")
    if details:
        lines.append("    " + "; ".join(details))
    pulls = status.get("pullRequests") or []
    if pulls:
        lines.append("    PRs: " + ", ".join(f"#{p['number']} {p['state']}" for p in pulls))
    clusters = status.get("clusters") or []
    if clusters:
        lines.append(
            "    clusters: " + ", ".join(f"{c.get('id')} {c.get('state')}" for c in clusters)
        )
    if spec.get("requestedBy") or spec.get("reason"):
        who = spec.get("requestedBy") or "?"
        lines.append(f"    by {who}" + (f": {spec['reason']}" if spec.get("reason") else ""))
    if status.get("message"):
        lines.append(f"    {status['message']}")
    return lines


def start_of(wake: dict[str, Any]) -> datetime:
    text = (wake.get("spec") or {}).get("startAt") or wake["metadata"].get("creationTimestamp")
    if not text:
        return datetime.min.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(text))


def rfc3339(instant: datetime, zone: tzinfo | None) -> str:
    return instant.astimezone(zone or UTC).isoformat(timespec="seconds")


def show(instant: datetime, zone: tzinfo | None) -> str:
    local = instant.astimezone(zone or UTC)
    utc = instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{local.strftime('%a %Y-%m-%d %H:%M %Z')} ({utc})"


def _show_text(text: str | None, zone: tzinfo) -> str:
    """An instant as people read it: in ``zone``, which it names (``Sat 11-28 10:00 JST``)."""
    if not text:
        return ""
    instant = datetime.fromisoformat(str(text))
    return instant.astimezone(zone).strftime("%a %m-%d %H:%M %Z")


def _when(text: str, what: str, *, now: datetime, after: datetime, zone: tzinfo | None) -> datetime:
    return parse_when(text, what=what, now=now, after=after, zone=zone or UTC)


def _validate(spec: dict[str, Any]) -> None:
    """The operator's own validation, before anything reaches the cluster."""
    from pydantic import ValidationError

    try:
        WakeSpec.model_validate(spec)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise errors.WakeInvalid(str(first["msg"]).removeprefix("Value error, ")) from None
