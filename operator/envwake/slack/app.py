"""The Bolt app: the ``/envwake`` slash command and the "Wake environment" workflow step.

Both turn a request into an EnvironmentWake (``requestedBy`` is the Slack user) after
checking the environment's allow-list; nothing is created for a request that cannot be
read, is not allowed, or was already handled (a wake's name comes from the request's
trigger or execution ID, so a replay finds it taken). Progress is the watcher's job.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, Complete, Fail
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from envwake import configdir, errors
from envwake.gitops.credentials import Secret
from envwake.model.loading import Environment
from envwake.planning import Rules, WakeRequest, plan_environment
from envwake.planning.timeline import timeline_lines
from envwake.slack.commands import Command, CommandInvalid, parse_command
from envwake.slack.progress import CHANNEL, DEFAULT_STOP, LABEL, USER, VIA_SLACK
from envwake.wakes.api import WakeApi
from envwake.wakes.request import (
    DONE_PHASES,
    WakeOrder,
    describe_wake,
    end_wakes,
    start_of,
    understand,
    wake_body,
)

__all__ = ["DEFAULT_API_URL", "FUNCTION_CALLBACK_ID", "SlackBridge", "SlackCredentials"]

logger = logging.getLogger("envwake.slack")

DEFAULT_API_URL = "https://slack.com/api/"
FUNCTION_CALLBACK_ID = "wake_environment"  # the function's callback_id in the app manifest
COMMAND = "/envwake"
_MEMBERS_TTL = 60.0


@dataclass(frozen=True)
class SlackCredentials:
    bot_token: Secret  # xoxb-…
    signing_secret: Secret
    app_token: Secret | None = None  # xapp-…, for Socket Mode

    @classmethod
    def from_environment(cls, environ: dict[str, str], *, socket_mode: bool) -> SlackCredentials:
        """From SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and (Socket Mode) SLACK_APP_TOKEN;
        a missing or malformed one is named, never shown."""
        problems = []
        bot = environ.get("SLACK_BOT_TOKEN", "").strip()
        secret = environ.get("SLACK_SIGNING_SECRET", "").strip()
        app = environ.get("SLACK_APP_TOKEN", "").strip()
        if not bot:
            problems.append("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
        elif not bot.startswith("xoxb-"):
            problems.append("SLACK_BOT_TOKEN does not look like a bot token (xoxb-…)")
        if not secret and not socket_mode:
            problems.append("SLACK_SIGNING_SECRET is not set (Basic Information → Signing Secret)")
        if socket_mode and not app:
            problems.append(
                "SLACK_APP_TOKEN is not set (an app-level xapp-… token, for Socket Mode)"
            )
        elif socket_mode and not app.startswith("xapp-"):
            problems.append("SLACK_APP_TOKEN does not look like an app-level token (xapp-…)")
        if problems:
            raise errors.SlackSetupInvalid("; ".join(problems))
        return cls(Secret(bot), Secret(secret), Secret(app) if app else None)


@dataclass(frozen=True)
class _Answer:
    text: str
    in_channel: bool = False


class _GroupMembers:
    """Who is in a user group, asked of Slack at most once a minute per group."""

    def __init__(self, client: WebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def __call__(self, group: str) -> frozenset[str]:
        with self._lock:
            cached = self._cache.get(group)
            if cached and self.clock() - cached[0] < _MEMBERS_TTL:
                return cached[1]
        answer = self.client.usergroups_users_list(usergroup=group)
        members = frozenset(answer.get("users") or [])
        with self._lock:
            self._cache[group] = (self.clock(), members)
        return members


class SlackBridge:
    """The Bolt ``app``, its Web API ``client``, and the wakes it creates through ``api``."""

    def __init__(
        self,
        credentials: SlackCredentials,
        api: WakeApi,
        config_dir: Path,
        *,
        api_url: str = DEFAULT_API_URL,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.api = api
        self.now = now
        self.client = WebClient(
            token=credentials.bot_token.reveal(),
            base_url=api_url,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)],
        )
        self.environments = _load(config_dir)
        try:
            self.app = App(
                client=self.client,
                signing_secret=credentials.signing_secret.reveal() or None,
                request_verification_enabled=bool(credentials.signing_secret.reveal()),
                logger=logging.getLogger("envwake.slack.bolt"),
            )
        except Exception as exc:  # Bolt checks the token with auth.test at start
            raise errors.SlackSetupInvalid(
                f"Slack refused the bot token (auth.test at {api_url}): {_slack_error(exc)}"
            ) from None
        self.members = _GroupMembers(self.client)
        self.app.command(COMMAND)(self._on_command)
        self.app.function(FUNCTION_CALLBACK_ID)(self._on_step)

    # -- the slash command ---------------------------------------------------------------------

    def _on_command(self, ack: Ack, command: dict[str, Any]) -> None:
        try:
            answer = self.command(command)
        except (CommandInvalid, errors.EnvwakeError) as exc:
            answer = _Answer(f":warning: {exc}")
        except SlackApiError as exc:
            answer = _Answer(f":warning: Slack refused a call of envwake: {_slack_error(exc)}")
        ack(response_type="in_channel" if answer.in_channel else "ephemeral", text=answer.text)

    def command(self, fields: dict[str, Any]) -> _Answer:
        """Carry out one slash command; raise with the message the user should read."""
        parsed = parse_command(str(fields.get("text") or ""))
        user, channel = str(fields.get("user_id") or ""), str(fields.get("channel_id") or "")
        environment = self._allowed(parsed.environment, channel=channel, user=user)
        if parsed.action == "start":
            who = f"{fields.get('user_name') or user} (Slack {user})"
            name = _wake_name(parsed.environment, str(fields.get("trigger_id") or ""))
            return self._start(environment, parsed, who, name, channel=channel, user=user)
        if parsed.action == "stop":
            return self._stop(environment, user)
        if parsed.action == "status":
            return self._status(environment)
        return self._plan(environment, parsed)

    def _start(
        self,
        environment: Environment,
        parsed: Command,
        requested_by: str,
        name: str,
        *,
        channel: str,
        user: str,
    ) -> _Answer:
        zone = ZoneInfo(environment.config.timezone)
        now = self.now()
        order = understand(
            environment.name,
            environment,
            zone=zone,
            now=now,
            at=parsed.at,
            until=parsed.until,
            duration=parsed.duration,
            reason=parsed.reason,
            requested_by=requested_by,
            names=("at", "until", "for"),
        )
        created = self._create(order, name, channel=channel, user=user)
        if created is None:
            return _Answer(f"this request was already handled: wake `{name}` exists")
        lines = [f"waking *{environment.name}* (wake `{self.api.namespace}/{name}`)"]
        lines += order.summary(zone, now)
        lines.append("progress follows in the thread of the channel message")
        return _Answer("\n".join(lines))

    def _stop(self, environment: Environment, user: str) -> _Answer:
        zone = ZoneInfo(environment.config.timezone)
        lines = end_wakes(self.api, environment.name, now=self.now(), zone=zone, delete=False)
        if not lines:
            return _Answer(f"{environment.name} has no active wake in {self.api.namespace}")
        return _Answer(
            f"<@{user}> stopped *{environment.name}*:\n" + "\n".join(lines), in_channel=True
        )

    def _status(self, environment: Environment) -> _Answer:
        zone = ZoneInfo(environment.config.timezone)
        wakes = sorted(self._wakes_of(environment.name), key=start_of)
        active = [w for w in wakes if (w.get("status") or {}).get("phase") not in DONE_PHASES]
        head = f"*{environment.name}*: {len(active)} active wake{'s' if len(active) != 1 else ''}"
        lines = [line for w in wakes for line in describe_wake(w, zone)]
        return _Answer(head + (_code(lines) if lines else ""), in_channel=True)

    def _plan(self, environment: Environment, parsed: Command) -> _Answer:
        zone = ZoneInfo(environment.config.timezone)
        now = self.now()
        requests = [
            WakeRequest(  # a wake without startAt started when it was created
                start_of(w),
                _instant((w.get("spec") or {}).get("stopAt")),
                name=w["metadata"]["name"],
            )
            for w in self._wakes_of(environment.name)
            if (w.get("status") or {}).get("phase") not in DONE_PHASES
        ]
        if parsed.at or parsed.until or parsed.duration:
            order = understand(
                environment.name,
                environment,
                zone=zone,
                now=now,
                at=parsed.at,
                until=parsed.until,
                duration=parsed.duration,
                names=("at", "until", "for"),
            )
            requests.append(WakeRequest(order.start, order.stop, name="(asked)"))
        plan = plan_environment(
            Rules.from_config(environment.config), requests or [WakeRequest()], now=now
        )
        return _Answer(_code(timeline_lines(environment, plan, now=now)), in_channel=True)

    # -- the workflow step ---------------------------------------------------------------------

    def _on_step(
        self, inputs: dict[str, Any], body: dict[str, Any], complete: Complete, fail: Fail
    ) -> None:
        execution = str((body.get("event") or {}).get("function_execution_id") or "")
        try:
            outputs = self.step(inputs, execution)
        except (CommandInvalid, errors.EnvwakeError) as exc:
            fail(str(exc))
            return
        except SlackApiError as exc:
            fail(f"Slack refused a call of envwake: {_slack_error(exc)}")
            return
        try:
            complete(outputs=outputs)
        except SlackApiError as exc:  # a retried event whose first delivery completed it
            logger.info("workflow step %s not completed again: %s", execution, _slack_error(exc))

    def step(self, inputs: dict[str, Any], execution: str) -> dict[str, str]:
        """Wake an environment for a workflow; the outputs are the wake's name and phase."""
        env_name = str(inputs.get("environment") or "").strip()
        user = str(inputs.get("requested_by") or "").strip()
        channel = str(inputs.get("channel") or "").strip()
        if not env_name:
            raise CommandInvalid("the step's input `environment` is empty")
        if not user:
            raise CommandInvalid(
                "the step's input `requested_by` is empty (map it to the person who used "
                "the workflow)"
            )
        environment = self._allowed(env_name, channel=channel or None, user=user)
        zone = ZoneInfo(environment.config.timezone)
        order = understand(
            env_name,
            environment,
            zone=zone,
            now=self.now(),
            at=_time_input(inputs.get("start_time"), zone),
            until=_time_input(inputs.get("stop_time"), zone),
            reason=str(inputs.get("reason") or "").strip() or None,
            requested_by=f"{self._user_name(user)} (Slack {user})",
            names=("start_time", "stop_time", "duration"),
        )
        name = _wake_name(env_name, execution)
        created = self._create(order, name, channel=channel, user=user)
        current = created or self.api.get(name)
        phase = str((current.get("status") or {}).get("phase") or "Pending")
        return {"wake_name": name, "phase": phase}

    # -- shared --------------------------------------------------------------------------------

    def _allowed(self, name: str, *, channel: str | None, user: str) -> Environment:
        """``name``'s config, when this channel and user may drive it from Slack."""
        environment = self.environments.get(name)
        if environment is None:
            open_ = sorted(n for n, e in self.environments.items() if e.config.slack is not None)
            raise CommandInvalid(
                f"unknown environment {name!r} (open to Slack: {', '.join(open_) or 'none'})"
            )
        slack = environment.config.slack
        if slack is None:
            raise CommandInvalid(f"{name} is not open to Slack (its config has no `slack` section)")
        if slack.channels and channel not in slack.channels:
            where = ", ".join(f"<#{c}>" for c in slack.channels)
            here = "this channel" if channel else "a workflow without a `channel` input"
            raise CommandInvalid(f"{name} cannot be driven from {here}; use {where}")
        if slack.user_groups and not any(user in self.members(g) for g in slack.user_groups):
            groups = ", ".join(f"<!subteam^{g}>" for g in slack.user_groups)
            raise CommandInvalid(f"only members of {groups} may drive {name} from Slack")
        return environment

    def _create(
        self, order: WakeOrder, name: str, *, channel: str, user: str
    ) -> dict[str, Any] | None:
        """Create the wake; None when a wake of that name exists (a request handled twice)."""
        annotations = {USER: user}
        if channel:
            annotations[CHANNEL] = channel
        if order.default_stop is not None:
            annotations[DEFAULT_STOP] = order.default_stop[0].isoformat()
        body = wake_body(order.spec, name=name, labels={LABEL: VIA_SLACK}, annotations=annotations)
        try:
            return self.api.create(body)
        except errors.KubernetesRequestFailed as exc:
            if exc.status == 409:
                return None
            raise

    def _wakes_of(self, environment: str) -> list[dict[str, Any]]:
        return [
            w for w in self.api.list() if (w.get("spec") or {}).get("environment") == environment
        ]

    def _user_name(self, user: str) -> str:
        try:
            answer = self.client.users_info(user=user)
        except SlackApiError:
            return user
        info = answer.get("user") or {}
        return str(info.get("real_name") or info.get("name") or user)


def _load(config_dir: Path) -> dict[str, Environment]:
    environments, problems = configdir.load_config_dir(config_dir)
    for problem in problems:
        logger.warning("config: %s", problem)
    return environments


def _wake_name(environment: str, request_id: str) -> str:
    """``ENV-`` and ten hex digits of the request's ID: the same request, the same name."""
    if not request_id:
        raise CommandInvalid("Slack sent no trigger or execution ID with the request")
    return f"{environment}-{hashlib.sha256(request_id.encode()).hexdigest()[:10]}"


def _time_input(value: object, zone: ZoneInfo) -> str | None:
    """A workflow input: text as typed (18:30, tomorrow 05:30, RFC 3339), or a
    ``slack#/types/timestamp`` (Unix seconds)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
        return datetime.fromtimestamp(float(value), zone).isoformat()
    return str(value)


def _instant(text: object) -> datetime | None:
    return datetime.fromisoformat(str(text)) if text else None


def _code(lines: list[str]) -> str:
    return "\n```\n" + "\n".join(lines) + "\n```"


def _slack_error(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            return str(response["error"])
        except (KeyError, TypeError):
            pass
    return type(exc).__name__
