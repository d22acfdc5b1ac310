"""Serve the Bolt app: HTTP mode (Slack posts signed requests to ``/slack/events``) or
Socket Mode (the app opens a websocket to Slack); ``/healthz`` for the kubelet.

Bolt checks each HTTP request's signature and refuses timestamps more than five minutes
away; on top of that a signature is accepted once (a request replayed within those five
minutes is refused too).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_bolt import App, BoltRequest

__all__ = ["EVENTS_PATH", "MAX_BODY", "ReplayGuard", "SlackHttpServer", "socket_mode_handler"]

logger = logging.getLogger("envwake.slack")

EVENTS_PATH = "/slack/events"
MAX_BODY = 1024 * 1024
Headers = dict[str, str | Sequence[str]]
_SIGNATURE_LIFETIME = 5 * 60 + 30  # Bolt's five minutes, and clock skew


class ReplayGuard:
    """Each request signature once within its lifetime."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim(self, signature: str) -> bool:
        now = self.clock()
        with self._lock:
            for seen, until in list(self._seen.items()):
                if until < now:
                    del self._seen[seen]
            if signature in self._seen:
                return False
            self._seen[signature] = now + _SIGNATURE_LIFETIME
            return True

    def release(self, signature: str) -> None:
        with self._lock:
            self._seen.pop(signature, None)


class SlackHttpServer:
    """``start()`` serves on ``host:port`` (port 0: any free one, see ``url``)."""

    def __init__(
        self, app: App, *, host: str = "0.0.0.0", port: int = 3000, events: bool = True
    ) -> None:
        self.app = app
        self.events = events  # False in Socket Mode: only /healthz
        self.replays = ReplayGuard()
        handler = _handler(self)
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self._base() + EVENTS_PATH

    @property
    def health_url(self) -> str:
        return self._base() + "/healthz"

    def _base(self) -> str:
        host, port = self.httpd.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{shown!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # how soon stop() is heard
            name="slack-http",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def dispatch(
        self, body: str, headers: dict[str, str | Sequence[str]]
    ) -> tuple[int, str, dict[str, Any]]:
        signature = next(iter(headers.get("x-slack-signature") or []), "")
        if signature and not self.replays.claim(signature):
            logger.warning("refused a replayed Slack request")
            return 401, '{"error": "replayed request"}', {"Content-Type": ["application/json"]}
        response = self.app.dispatch(BoltRequest(body=body, headers=dict(headers.items())))
        if response.status == 401 and signature:
            self.replays.release(signature)  # a forged one must not block the real one
        return response.status, response.body, dict(response.headers)


def _handler(server: SlackHttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/healthz":
                self._send(200, "ok", {"Content-Type": ["text/plain"]})
            else:
                self._send(404, "not found", {"Content-Type": ["text/plain"]})

        def do_POST(self) -> None:
            if self.path.split("?")[0] != EVENTS_PATH or not server.events:
                self._send(404, "not found", {"Content-Type": ["text/plain"]})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                self._send(413, "request too large", {"Content-Type": ["text/plain"]})
                return
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            headers: Headers = {}
            for key, value in self.headers.items():
                headers[key.lower()] = [*headers.get(key.lower(), []), value]
            status, text, response_headers = server.dispatch(body, headers)
            self._send(status, text, response_headers)

        def _send(self, status: int, text: str, headers: dict[str, Any]) -> None:
            data = text.encode()
            self.send_response(status)
            for key, values in headers.items():
                for value in values if isinstance(values, list) else [values]:
                    if key.lower() != "content-length":
                        self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s %s", self.address_string(), format % args)

    return Handler


def socket_mode_handler(app: App, app_token: str) -> Any:
    """Bolt's built-in Socket Mode handler (no extra dependency); ``connect()`` it."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    return SocketModeHandler(app, app_token=app_token, web_client=app.client)
