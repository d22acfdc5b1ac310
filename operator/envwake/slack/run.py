"""``envwake slack``: the app, its progress watcher and its server, until SIGTERM."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from envwake.slack.app import SlackBridge, SlackCredentials
from envwake.slack.server import SlackHttpServer, socket_mode_handler
from envwake.slack.watcher import ProgressWatcher
from envwake.wakes.api import WakeApi

__all__ = ["serve"]

logger = logging.getLogger("envwake.slack")


def serve(
    credentials: SlackCredentials,
    api: WakeApi,
    config_dir: Path,
    *,
    api_url: str,
    host: str,
    port: int,
    socket_mode: bool,
    stop: threading.Event,
    on_ready: Callable[[str], None] = lambda url: None,
    now: Callable[[], datetime] | None = None,
) -> None:
    """Serve until ``stop`` is set; ``on_ready`` hears the request URL (or health URL)."""
    bridge = SlackBridge(
        credentials, api, config_dir, api_url=api_url, **({"now": now} if now else {})
    )
    watcher = ProgressWatcher(api, bridge.client, lambda: bridge.environments)
    server = SlackHttpServer(bridge.app, host=host, port=port, events=not socket_mode)
    handler = None
    server.start()
    watcher.start()
    try:
        if socket_mode:
            assert credentials.app_token is not None
            handler = socket_mode_handler(bridge.app, credentials.app_token.reveal())
            handler.connect()
            logger.info("connected to Slack in Socket Mode; health on %s", server.health_url)
            on_ready(server.health_url)
        else:
            logger.info("serving Slack requests on %s", server.url)
            on_ready(server.url)
        stop.wait()
    finally:
        if handler is not None:
            handler.close()
        watcher.stop()
        server.stop()
