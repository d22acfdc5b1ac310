"""``envwake plan``: what envwake would do, and when, for an environment's wakes."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from envwake import configdir, errors
from envwake.cli.parsing import fail
from envwake.planning import Rules, WakeRequest, plan_environment
from envwake.planning.timeline import plan_as_data, timeline_lines
from envwake.wakes.times import parse_instant

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="show the timeline of actions for an environment's wakes",
        description=(
            "Show what envwake would do, and when, for the given wakes. Without --wake, "
            "plans one wake starting now with the default stop."
        ),
    )
    parser.add_argument("environment", metavar="ENV")
    parser.add_argument("--config-dir", type=Path, default=Path("config"), metavar="DIR")
    parser.add_argument("--now", metavar="T", help="RFC 3339 time to plan from (default: now)")
    parser.add_argument(
        "--wake",
        action="append",
        default=[],
        metavar="START,STOP",
        help="a wake; either side may be empty for the default (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    now = parse_instant(args.now, what="--now") if args.now else datetime.now(UTC)
    requests = [_wake(text, number) for number, text in enumerate(args.wake, start=1)]
    environments, problems = configdir.load_config_dir(args.config_dir)
    environment = environments.get(args.environment)
    if environment is None:
        if problems:
            details = "; ".join(str(p) for p in problems)
            fail(f"cannot plan {args.environment!r}: invalid config: {details}")
        known = ", ".join(sorted(environments)) or "none"
        fail(f"unknown environment {args.environment!r} in {args.config_dir} (known: {known})")

    plan = plan_environment(
        Rules.from_config(environment.config), requests or [WakeRequest()], now=now
    )
    if args.json:
        print(json.dumps(plan_as_data(environment, plan, now=now), indent=2, ensure_ascii=False))
    else:
        print("\n".join(timeline_lines(environment, plan, now=now)))
    return 0


def _wake(text: str, number: int) -> WakeRequest:
    if text.count(",") != 1:
        raise errors.WakeInvalid(f"--wake {text!r}: write START,STOP (either side may be empty)")
    start_text, stop_text = (part.strip() for part in text.split(","))
    what = f"--wake #{number}"
    return WakeRequest(
        start=parse_instant(start_text, what=f"{what} start") if start_text else None,
        stop=parse_instant(stop_text, what=f"{what} stop") if stop_text else None,
        name=f"#{number}",
    )
