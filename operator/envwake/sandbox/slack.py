"""A Slack workspace over HTTP: the Web API methods the envwake app calls, answered as
Slack answers them (HTTP 200 with ``{"ok": false, "error": …}``, 429 with Retry-After),
and Slack's side of the conversation: slash commands and workflow steps sent to the
app's request URL signed as Slack signs them, or pushed over a Socket Mode websocket.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import requests
from aiohttp import WSMsgType, web

from envwake.sandbox import leaks
from envwake.sandbox.serving import BackgroundServer

__all__ = ["Delivery", "PostedMessage", "SlackEmulator", "sign"]

FUNCTION_CALLBACK_ID = "wake_environment"
_FORM = "application/x-www-form-urlencoded"


def sign(secret: str, timestamp: str, body: str) -> str:
    """Slack's request signature: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PostedMessage:
    channel: str
    ts: str
    text: str
    thread_ts: str | None
    user: str  # the bot that posted it


@dataclass(frozen=True)
class Delivery:
    """What the app answered to something Slack sent it."""

    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class _Workspace:
    bot_token: str
    app_token: str
    signing_secret: str
    team: str = "T0ENVWAKE"
    bot_user: str = "U0ENVWAKEBOT"
    users: dict[str, str] = field(default_factory=dict)  # id -> name
    user_groups: dict[str, list[str]] = field(default_factory=dict)  # id -> user ids
    channels: dict[str, str] = field(default_factory=dict)  # id -> name
    function_tokens: set[str] = field(default_factory=set)


class SlackEmulator:
    """``with SlackEmulator(...) as slack:``; point the app at ``slack.api_url`` and,
    for HTTP mode, tell the emulator the app's ``request_url``."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-0000-envwake-emulated",
        app_token: str = "xapp-1-envwake-emulated",
        signing_secret: str = "8f742231b10e8888abcd99yyyzzz85a5",
        bind: str = "127.0.0.1",
    ) -> None:
        self.workspace = _Workspace(bot_token, app_token, signing_secret)
        leaks.remember(bot_token, app_token, signing_secret)
        self.messages: list[PostedMessage] = []
        self.completions: dict[str, tuple[str, Any]] = {}  # execution id -> (ok|error, …)
        self.calls: list[tuple[str, str]] = []  # (method, error or "ok")
        self.request_url = ""
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._rate_limited: dict[str, int] = {}  # method -> how many more 429s
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, dict[str, Any]] = {}
        self._acked = threading.Condition(self._lock)
        self._server = BackgroundServer(
            "Slack emulator", self._application, bind=bind, advertise=bind
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> SlackEmulator:
        self._server.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.stop()

    @property
    def api_url(self) -> str:
        """The Web API base URL (``https://slack.com/api/`` for the real one)."""
        return f"{self._server.url}/api/"

    # -- the workspace -------------------------------------------------------------------------

    def add_user(self, user_id: str, name: str) -> None:
        self.workspace.users[user_id] = name

    def add_channel(self, channel_id: str, name: str) -> None:
        self.workspace.channels[channel_id] = name

    def add_user_group(self, group_id: str, members: list[str]) -> None:
        self.workspace.user_groups[group_id] = list(members)

    def rate_limit(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` get 429 with ``Retry-After: 1``."""
        self._rate_limited[method] = times

    def thread(self, channel: str, thread_ts: str) -> list[PostedMessage]:
        """The replies in a thread, oldest first."""
        with self._lock:
            return [m for m in self.messages if m.channel == channel and m.thread_ts == thread_ts]

    # -- what Slack sends the app --------------------------------------------------------------

    def slash_command(
        self,
        text: str,
        *,
        user: str,
        channel: str,
        command: str = "/envwake",
        trigger_id: str | None = None,
    ) -> dict[str, str]:
        """The form fields of a slash command as Slack posts them."""
        return {
            "token": "deprecated-verification-token",
            "team_id": self.workspace.team,
            "team_domain": "envwake-test",
            "channel_id": channel,
            "channel_name": self.workspace.channels.get(channel, "unknown"),
            "user_id": user,
            "user_name": self.workspace.users.get(user, user),
            "command": command,
            "text": text,
            "api_app_id": "A0ENVWAKE",
            "is_enterprise_install": "false",
            "response_url": f"{self._server.url}/commands/response",
            "trigger_id": trigger_id or f"{next(self._ts)}.{time.time_ns()}.trigger",
        }

    def function_executed(self, inputs: dict[str, Any], *, execution: str) -> dict[str, Any]:
        """The ``function_executed`` event of the "Wake environment" workflow step."""
        token = f"xwfp-{execution}-emulated"
        self.workspace.function_tokens.add(token)
        leaks.remember(token)
        return {
            "token": "deprecated-verification-token",
            "team_id": self.workspace.team,
            "api_app_id": "A0ENVWAKE",
            "type": "event_callback",
            "event_id": f"Ev{execution}",
            "event_time": int(time.time()),
            "event": {
                "type": "function_executed",
                "function": {
                    "id": "Fn0ENVWAKE01",
                    "callback_id": FUNCTION_CALLBACK_ID,
                    "title": "Wake environment",
                    "type": "app",
                    "app_id": "A0ENVWAKE",
                },
                "inputs": inputs,
                "function_execution_id": execution,
                "workflow_execution_id": f"Wx{execution}",
                "event_ts": f"{time.time():.6f}",
                "bot_access_token": token,
            },
            "authorizations": [
                {"team_id": self.workspace.team, "user_id": self.workspace.bot_user, "is_bot": True}
            ],
        }

    def deliver(
        self,
        payload: dict[str, Any],
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        signed: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        """POST ``payload`` to the app's request URL as Slack does: a slash command as a
        form, an event as JSON, with ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature``
        (``secret`` and ``timestamp`` let tests forge and replay)."""
        if "command" in payload:
            body, content_type = (
                urllib.parse.urlencode(payload),
                "application/x-www-form-urlencoded",
            )
        else:
            body, content_type = json.dumps(payload), "application/json"
        return self.post_raw(
            body,
            content_type=content_type,
            timestamp=timestamp,
            secret=secret,
            signed=signed,
            headers=headers,
        )

    def post_raw(
        self,
        body: str,
        *,
        content_type: str,
        timestamp: int | None = None,
        secret: str | None = None,
        signed: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Delivery:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        sent = {"Content-Type": content_type, **(headers or {})}
        if signed:
            sent["X-Slack-Request-Timestamp"] = stamp
            sent["X-Slack-Signature"] = sign(
                secret if secret is not None else self.workspace.signing_secret, stamp, body
            )
        with requests.Session() as session:
            session.trust_env = False
            answer = session.post(self.request_url, data=body.encode(), headers=sent, timeout=30)
        return Delivery(answer.status_code, answer.text)

    def push(self, kind: str, payload: dict[str, Any], *, timeout: float = 10) -> dict[str, Any]:
        """Send an envelope over the app's Socket Mode connection; return its ack."""
        envelope_id = f"env-{next(self._ts)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind == "slash_commands",
            "retry_attempt": 0,
            "retry_reason": "",
        }

        async def send() -> None:
            if not self._sockets:
                raise RuntimeError("no Socket Mode connection is open")
            await self._sockets[-1].send_str(json.dumps(envelope))

        self._server.call(send)
        deadline = time.monotonic() + timeout
        with self._acked:
            while envelope_id not in self._acks:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the app did not acknowledge {kind} in {timeout} s")
                self._acked.wait(left)
            return self._acks.pop(envelope_id)

    def wait_for_socket(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not self._sockets:
            if time.monotonic() > deadline:
                raise TimeoutError("the app did not open a Socket Mode connection")
            time.sleep(0.02)

    # -- the Web API ---------------------------------------------------------------------------

    def _application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/commands/response", self._response_url)
        app.router.add_get("/socket", self._socket)
        return app

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        arguments: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            arguments.update(await request.json())
        elif request.can_read_body:
            arguments.update(await request.post())
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        token = token or str(arguments.pop("token", ""))
        leaks.inspect(f"Slack {method}", json.dumps(arguments, default=str))
        with self._lock:
            if self._rate_limited.get(method, 0) > 0:
                self._rate_limited[method] -= 1
                self.calls.append((method, "ratelimited"))
                return web.json_response(
                    {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
                )
            handler = _METHODS.get(method)
            if handler is None:
                answer: dict[str, Any] = {"ok": False, "error": "unknown_method"}
            elif not self._authorized(method, token):
                answer = {"ok": False, "error": "invalid_auth"}
            else:
                answer = handler(self, arguments)
            self.calls.append((method, "ok" if answer.get("ok") else str(answer.get("error"))))
        return web.json_response(answer)

    def _authorized(self, method: str, token: str) -> bool:
        if method == "apps.connections.open":
            return token == self.workspace.app_token
        return token == self.workspace.bot_token or token in self.workspace.function_tokens

    async def _response_url(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        socket = web.WebSocketResponse(heartbeat=None)
        await socket.prepare(request)
        await socket.send_str(
            json.dumps({"type": "hello", "num_connections": 1, "connection_info": {}})
        )
        self._sockets.append(socket)
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                if "envelope_id" in data:
                    with self._acked:
                        self._acks[data["envelope_id"]] = data
                        self._acked.notify_all()
        finally:
            self._sockets.remove(socket)
        return socket

    # Web API methods, called with the lock held

    def _auth_test(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://envwake-test.slack.com/",
            "team": "envwake-test",
            "team_id": self.workspace.team,
            "user": "envwake",
            "user_id": self.workspace.bot_user,
            "bot_id": "B0ENVWAKE",
        }

    def _post_message(self, arguments: dict[str, Any]) -> dict[str, Any]:
        channel = str(arguments.get("channel", ""))
        text = str(arguments.get("text") or "")
        if channel not in self.workspace.channels:
            return {"ok": False, "error": "channel_not_found"}
        if not text and not arguments.get("blocks"):
            return {"ok": False, "error": "no_text"}
        thread = arguments.get("thread_ts") or None
        if thread is not None and not any(
            m.ts == thread and m.channel == channel for m in self.messages
        ):
            return {"ok": False, "error": "thread_not_found"}
        ts = f"{1_800_000_000 + next(self._ts)}.000100"
        message = PostedMessage(channel, ts, text, thread, self.workspace.bot_user)
        self.messages.append(message)
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "message": {"type": "message", "text": text, "ts": ts, "user": message.user},
        }

    def _users_info(self, arguments: dict[str, Any]) -> dict[str, Any]:
        user = str(arguments.get("user", ""))
        if user not in self.workspace.users:
            return {"ok": False, "error": "user_not_found"}
        name = self.workspace.users[user]
        return {
            "ok": True,
            "user": {"id": user, "name": name, "real_name": name, "profile": {"real_name": name}},
        }

    def _user_group_members(self, arguments: dict[str, Any]) -> dict[str, Any]:
        group = str(arguments.get("usergroup", ""))
        if group not in self.workspace.user_groups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.workspace.user_groups[group])}

    def _connections_open(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self._server.url.replace("http://", "ws://") + "/socket"}


def _completion(outcome: str) -> Callable[[SlackEmulator, dict[str, Any]], dict[str, Any]]:
    """functions.completeSuccess / completeError: once per execution."""

    def complete(emulator: SlackEmulator, arguments: dict[str, Any]) -> dict[str, Any]:
        execution = str(arguments.get("function_execution_id", ""))
        if not execution:
            return {"ok": False, "error": "invalid_arguments"}
        if execution in emulator.completions:
            return {"ok": False, "error": "function_execution_not_found"}
        value = arguments.get("outputs") if outcome == "success" else arguments.get("error")
        if isinstance(value, str) and outcome == "success":
            value = json.loads(value)
        emulator.completions[execution] = (outcome, value)
        return {"ok": True}

    return complete


_METHODS: dict[str, Callable[[SlackEmulator, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": SlackEmulator._auth_test,
    "chat.postMessage": SlackEmulator._post_message,
    "users.info": SlackEmulator._users_info,
    "usergroups.users.list": SlackEmulator._user_group_members,
    "functions.completeSuccess": _completion("success"),
    "functions.completeError": _completion("error"),
    "apps.connections.open": SlackEmulator._connections_open,
}
