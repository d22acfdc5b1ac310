"""``envwake demo``: the whole flow on the local stack, in well under a minute.

A wake is created for a Saturday morning, when the environment sleeps; the operator
starts the Aurora clusters, raises the services through pull requests that it merges
after CI, and waits until they are ready. Then the clock jumps to the wake's stop (said
on screen), and the operator stops everything and puts the schedules back.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from envwake import configdir
from envwake.cli.parsing import fail

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole flow on the local stack (no cluster or cloud account needed)",
        description=(
            "Start the local stack (Kubernetes, GitHub and AWS emulators, a sandbox Flux) "
            "and the operator, wake an environment on a Saturday morning, then fast-forward "
            "to the wake's stop and watch it go back to sleep."
        ),
    )
    parser.add_argument("--config-dir", type=Path, default=Path("config"), metavar="DIR")
    parser.add_argument("--environment", default="dev", metavar="ENV")
    parser.add_argument(
        "--speed",
        type=float,
        default=120.0,
        help="how much faster than real time the stack's clock runs (default 120)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print a JSON summary as the last line of stdout"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the stack running afterwards and say how to point kubectl/envwake at it",
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="give up after this many real seconds"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.speed <= 0:
        fail(f"--speed {args.speed}: must be positive")
    environments, problems = configdir.load_config_dir(args.config_dir)
    environment = environments.get(args.environment)
    if environment is None:
        if problems:
            fail("invalid environment configs: " + "; ".join(str(p) for p in problems))
        known = ", ".join(sorted(environments)) or "none"
        fail(f"unknown environment {args.environment!r} in {args.config_dir} (known: {known})")
    from envwake.cli.demo_story import Demo  # the stack is heavy: only when it runs

    demo = Demo(environment, args)
    try:
        return asyncio.run(demo.run())
    except KeyboardInterrupt:  # Ctrl-C ends --keep (or the flow itself)
        return demo.status
