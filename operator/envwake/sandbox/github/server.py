"""Run the emulator on a loopback port in a background thread."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from aiohttp import web

from envwake.sandbox import leaks
from envwake.sandbox.github.api import API_URL, SERVICE, routes
from envwake.sandbox.github.githttp import BYTES_SENT, git_routes
from envwake.sandbox.github.service import GitHubService, HttpError
from envwake.sandbox.github.state import State
from envwake.sandbox.serving import BackgroundServer

__all__ = ["GitHubEmulator", "ResponseRecord"]


class ResponseRecord(NamedTuple):
    method: str  # lower case
    route: str  # the route template, like /repos/{owner}/{repo}/pulls/{number}
    status: int
    body: Any  # the JSON body
    injected: bool  # a fault injected on purpose, not the emulated behaviour


class GitHubEmulator:
    """``with GitHubEmulator() as github: github.url ...``; set it up through ``service``."""

    def __init__(
        self,
        root: Path | None = None,
        *,
        on_response: Callable[[ResponseRecord], None] | None = None,
        bind: str = "127.0.0.1",
        advertise: str | None = None,
    ) -> None:
        self.bind = bind  # 0.0.0.0 when a kind cluster must reach it (tests/e2e)
        self.advertise = advertise or bind  # the host name its URL gives
        self._tmp = None if root else tempfile.TemporaryDirectory(prefix="envwake-github-")
        self.root = root or Path(self._tmp.name)  # type: ignore[union-attr]
        self.state = State(self.root)
        self.service = GitHubService(self.state)
        self.on_response = on_response
        # Called with (method, path, status) once a request took effect and before its
        # answer leaves (a git response has left already): a test can kill the caller here.
        self.after_request: Callable[[str, str, int], None] | None = None
        self.git_bytes_sent: list[int] = []
        self._server = BackgroundServer(
            "GitHub emulator", self._application, bind=bind, advertise=self.advertise
        )
        self.url = ""

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        return self.state.requests

    def clone_url(self, full_name: str) -> str:
        return f"{self.url}/{full_name}.git"

    def __enter__(self) -> GitHubEmulator:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._server.start()
        self.url = self._server.url

    def _application(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=1024**3)
        app[SERVICE] = self.service
        app[BYTES_SENT] = self.git_bytes_sent
        app[API_URL] = url = [""]
        self._server.on_url = lambda served: url.__setitem__(0, served)
        app.add_routes(routes() + git_routes())
        return app

    def stop(self) -> None:
        self._server.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        route = (
            request.match_info.route.resource.canonical
            if request.match_info.route.resource
            else request.path
        )
        fault = self.service.fault_for(request.method, request.path)
        if request.method in ("POST", "PATCH", "PUT") and request.content_type.endswith("json"):
            leaks.inspect(f"GitHub {request.method} {request.path}", await request.text())
        try:
            if fault is not None:
                raise HttpError(fault.status, fault.message, dict(fault.headers))
            response: web.StreamResponse = await handler(request)
        except HttpError as error:
            body: dict[str, Any] = {
                "message": error.message,
                "documentation_url": "https://docs.github.com/rest",
            }
            if error.errors:
                body["errors"] = error.errors
            response = web.json_response(body, status=error.status, headers=error.headers)
        except web.HTTPException as error:
            response = web.json_response({"message": error.reason}, status=error.status)
        with self.state.lock:
            self.state.requests.append((request.method, request.path, response.status))
        if self.after_request is not None:
            self.after_request(request.method, request.path, response.status)
        if (
            self.on_response is not None
            and isinstance(response, web.Response)
            and response.content_type == "application/json"
        ):
            assert response.text is not None
            body = json.loads(response.text)
            injected = fault is not None
            method = request.method.lower()
            self.on_response(ResponseRecord(method, route, response.status, body, injected))
        return response
