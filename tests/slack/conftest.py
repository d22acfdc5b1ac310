"""The Slack app served for real: a Kubernetes API (kmock's emulator over HTTP), the
Slack emulator over HTTP, and the app between them in HTTP mode on a loopback port."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import kmock
import pytest

from envwake.gitops.credentials import Secret
from envwake.localstack import RESOURCES
from envwake.sandbox.kubernetes import StampingEmulator
from envwake.sandbox.slack import SlackEmulator
from envwake.slack.app import SlackCredentials
from envwake.slack.run import serve
from envwake.wakes.api import connect

ROOT = Path(__file__).parents[2]
CONFIG = ROOT / "config"
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 26, 23, 10, tzinfo=TOKYO)  # a Thursday night
WAKES = kmock.resource("envwake.dev", "v1alpha1", "environmentwakes")

# The people and places of the emulated workspace; config/dev.yaml opens dev to the
# channels C0DEVOPS01 and C0DEVTEAM02 and to the members of S0DEVELOPERS.
ALICE, BOB, MALLORY = "U0ALICE", "U0BOB", "U0MALLORY"
OPS, TEAM, RANDOM = "C0DEVOPS01", "C0DEVTEAM02", "C0RANDOM99"


def workspace(slack: SlackEmulator) -> SlackEmulator:
    slack.add_user(ALICE, "alice")
    slack.add_user(BOB, "bob")
    slack.add_user(MALLORY, "mallory")
    slack.add_channel(OPS, "dev-ops")
    slack.add_channel(TEAM, "dev-team")
    slack.add_channel(RANDOM, "random")
    slack.add_user_group("S0DEVELOPERS", [ALICE, BOB])
    return slack


def write_kubeconfig(path: Path, server: str, namespace: str, token: str = "slack-app") -> Path:
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "{server}"}}}}]
users: [{{name: u, user: {{token: {token}}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u, namespace: {namespace}}}}}]
current-context: x
"""
    )
    return path


@dataclass
class RunningApp:
    """The app, served from a thread until ``stop()``."""

    slack: SlackEmulator
    kubeconfig: Path
    namespace: str
    now: Callable[[], datetime]
    url: str = ""
    _stop: threading.Event | None = None
    _thread: threading.Thread | None = None
    _failure: list[BaseException] | None = None

    def start(self, *, socket_mode: bool = False) -> RunningApp:
        ready = threading.Event()
        self._stop = threading.Event()
        self._failure = []
        workspace_ = self.slack.workspace
        credentials = SlackCredentials(
            Secret(workspace_.bot_token),
            Secret("" if socket_mode else workspace_.signing_secret),
            Secret(workspace_.app_token) if socket_mode else None,
        )
        api = connect(str(self.kubeconfig), None, self.namespace)

        def run() -> None:
            try:
                serve(
                    credentials,
                    api,
                    CONFIG,
                    api_url=self.slack.api_url,
                    host="127.0.0.1",
                    port=0,
                    socket_mode=socket_mode,
                    stop=self._stop,  # type: ignore[arg-type]
                    on_ready=lambda url: (setattr(self, "url", url), ready.set()),
                    now=self.now,
                )
            except BaseException as exc:  # surfaced by the test that waits for it
                self._failure.append(exc)  # type: ignore[union-attr]
                ready.set()

        self._thread = threading.Thread(target=run, name="slack-app", daemon=True)
        self._thread.start()
        assert ready.wait(30), "the Slack app did not start"
        if self._failure:
            raise self._failure[0]
        if not socket_mode:
            self.slack.request_url = self.url
        return self

    def stop(self) -> None:
        assert self._stop is not None
        assert self._thread is not None
        self._stop.set()
        self._thread.join(90)
        assert not self._thread.is_alive(), "the Slack app did not stop"


@pytest.fixture
async def cluster(tmp_path) -> AsyncIterator[tuple[StampingEmulator, str]]:
    async with StampingEmulator() as emulator, kmock.Server(emulator) as server:
        emulator.resources.load_bundled()
        for name, info in RESOURCES.items():
            emulator.resources[name] = info
        emulator.envwake_clock = lambda: NOW  # the API server and the app agree on the time
        yield emulator, str(server.url).rstrip("/")


@pytest.fixture
def slack() -> Any:
    with SlackEmulator() as emulator:
        yield workspace(emulator)


@pytest.fixture
async def app(cluster, slack, tmp_path) -> AsyncIterator[RunningApp]:
    _, url = cluster
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url, "team-a")
    running = RunningApp(slack, kubeconfig, "team-a", lambda: NOW)
    await asyncio.to_thread(running.start)
    yield running
    await asyncio.to_thread(running.stop)


def wakes_in(emulator: StampingEmulator) -> dict[str, dict[str, Any]]:
    return {
        name: obj.raw
        for (resource, _, name), obj in emulator.objects.items()
        if resource == WAKES and not obj.deleted
    }
