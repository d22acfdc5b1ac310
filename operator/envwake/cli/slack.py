"""``envwake slack``: run the Slack app (HTTP mode or Socket Mode)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from envwake import errors
from envwake.cli.parsing import add_cluster_arguments

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "slack",
        help="run the Slack app: /envwake and the workflow step, progress in threads",
        description=(
            "Run the Slack app. Secrets come from the environment only: SLACK_BOT_TOKEN, "
            "SLACK_SIGNING_SECRET (HTTP mode) and SLACK_APP_TOKEN (Socket Mode)."
        ),
    )
    parser.add_argument(
        "--socket-mode",
        action="store_true",
        default=os.environ.get("ENVWAKE_SLACK_SOCKET_MODE", "") in ("1", "true"),
        help="connect to Slack over a websocket instead of serving HTTP "
        "[ENVWAKE_SLACK_SOCKET_MODE]",
    )
    parser.add_argument(
        "--host", default=os.environ.get("ENVWAKE_SLACK_HOST", "0.0.0.0"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("ENVWAKE_SLACK_PORT", "3000")),
        help="HTTP port: /slack/events, and /healthz in both modes [ENVWAKE_SLACK_PORT]",
    )
    parser.add_argument(
        "--api-url",
        default=os.environ.get("ENVWAKE_SLACK_API_URL", "https://slack.com/api/"),
        help="Slack Web API base URL (the local stack's emulator) [ENVWAKE_SLACK_API_URL]",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=Path(os.environ.get("ENVWAKE_CONFIG_DIR", "config")),
        help="environment configs, with each one's slack allow-list [ENVWAKE_CONFIG_DIR]",
    )
    add_cluster_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from envwake.slack.app import SlackCredentials
    from envwake.slack.run import serve
    from envwake.wakes.api import connect

    if not args.config_dir.is_dir():
        raise errors.SlackSetupInvalid(f"--config-dir {args.config_dir} is not a directory")
    if not 0 <= args.port < 65536:
        raise errors.SlackSetupInvalid(f"--port {args.port} is not a TCP port")
    credentials = SlackCredentials.from_environment(dict(os.environ), socket_mode=args.socket_mode)
    api = connect(args.kubeconfig, args.context, args.namespace)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serve(
        credentials,
        api,
        args.config_dir,
        api_url=args.api_url,
        host=args.host,
        port=args.port,
        socket_mode=args.socket_mode,
        stop=stop,
        on_ready=lambda url: print(f"envwake slack: ready on {url}", flush=True),
    )
    return 0
