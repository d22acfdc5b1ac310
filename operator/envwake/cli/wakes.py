"""``envwake start``, ``stop`` and ``status``: EnvironmentWakes in any cluster.

Times are read in the environment's time zone (from its config), and every instant the
CLI understood is echoed before anything is created.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from envwake import configdir, errors
from envwake.cli.parsing import add_cluster_arguments, fail
from envwake.model.loading import Environment
from envwake.wakes.api import WakeApi, connect
from envwake.wakes.request import (
    DONE_PHASES,
    describe_wake,
    end_wakes,
    start_of,
    understand,
    wake_body,
)
from envwake.wakes.times import ACCEPTED, is_time_of_day, parse_instant

__all__ = ["register"]


def _config_dir_default() -> Path:
    return Path(os.environ.get("ENVWAKE_CONFIG_DIR", "config"))


def _common(parser: Any) -> None:
    add_cluster_arguments(parser)
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=_config_dir_default(),
        metavar="DIR",
        help="environment configs, for the time zone and the default stop "
        "[ENVWAKE_CONFIG_DIR, default ./config]",
    )
    parser.add_argument("--now", metavar="T", help=argparse.SUPPRESS)  # tests and the demo


def register(subparsers: Any) -> None:
    start = subparsers.add_parser(
        "start",
        help="wake an environment (create an EnvironmentWake)",
        description=f"Wake ENV. Times: {ACCEPTED}; read in the environment's time zone.",
    )
    start.add_argument("environment", metavar="ENV")
    start.add_argument("--at", metavar="T", help="when to be awake from (default: now)")
    until = start.add_mutually_exclusive_group()
    until.add_argument("--until", metavar="T", help="when it may sleep again (default: see docs)")
    until.add_argument("--for", dest="duration", metavar="D", help="how long, like 3h or 1h30m")
    start.add_argument("--reason", help="shown in pull requests, events and Slack")
    start.add_argument("--requested-by", metavar="WHO", help="default: your user name")
    start.add_argument("--name", help="the wake's name (default: generated from ENV)")
    start.add_argument("--timezone", help="read times here when ENV has no config at hand")
    start.add_argument(
        "--wait", action="store_true", help="follow the wake until it is awake (or fails)"
    )
    start.add_argument(
        "--wait-timeout", type=float, default=3600.0, metavar="S", help=argparse.SUPPRESS
    )
    _common(start)
    start.set_defaults(run=run_start)

    stop = subparsers.add_parser(
        "stop",
        help="let an environment sleep now (end its active wakes)",
        description=(
            "End ENV's active wakes now: started ones get stopAt = now (the operator puts "
            "the environment to sleep unless another wake still needs it), ones not started "
            "yet are deleted."
        ),
    )
    stop.add_argument("environment", metavar="ENV")
    stop.add_argument("--name", help="only this wake")
    _common(stop)
    stop.set_defaults(run=run_stop)

    status = subparsers.add_parser(
        "status",
        help="show environments' wakes: phase, next action, PRs, clusters, services",
    )
    status.add_argument("environment", metavar="ENV", nargs="?")
    status.add_argument("-A", "--all-namespaces", action="store_true")
    status.add_argument("--json", action="store_true", help="print the wakes as JSON")
    _common(status)
    status.set_defaults(run=run_status)


# -- start ----------------------------------------------------------------------------------


def run_start(args: argparse.Namespace, *, sleep: Callable[[float], None] = time.sleep) -> int:
    now = _now(args)
    environment = _environment(args.config_dir, args.environment)
    zone = _zone(environment, args.timezone, needed=_relative(args.at, args.until))
    order = understand(
        args.environment,
        environment,
        zone=zone,
        now=now,
        at=args.at,
        until=args.until,
        duration=args.duration,
        reason=args.reason,
        requested_by=args.requested_by or _user(),
    )
    print("\n".join(order.summary(zone, now)))

    api = connect(args.kubeconfig, args.context, args.namespace)
    created = api.create(wake_body(order.spec, name=args.name))
    name = created["metadata"]["name"]
    print(f"created EnvironmentWake {api.namespace}/{name}")
    if not args.wait:
        print(f"follow it with: envwake status {args.environment} -n {api.namespace}")
        return 0
    return _follow(api, name, timeout=args.wait_timeout, sleep=sleep)


def _follow(api: WakeApi, name: str, *, timeout: float, sleep: Callable[[float], None]) -> int:
    """Print each new phase and message of the wake until it is awake, done or failed."""
    seen: tuple[str, str] = ("", "")
    waited = 0.0
    while waited <= timeout:
        status = api.get(name).get("status") or {}
        phase, message = str(status.get("phase") or "Pending"), str(status.get("message") or "")
        if (phase, message) != seen:
            print(f"  {phase:<10} {message}".rstrip(), flush=True)
            seen = (phase, message)
        if phase in ("Awake", "Extending", "Completed"):
            return 0
        if phase == "Failed":
            return 1
        sleep(1.0)
        waited += 1.0
    print(f"still {seen[0]} after {timeout:g} s; the operator goes on (envwake status)")
    return 1


# -- stop -----------------------------------------------------------------------------------


def run_stop(args: argparse.Namespace) -> int:
    now = _now(args)
    environment = _environment(args.config_dir, args.environment)
    zone = _zone(environment, None, needed=False)
    api = connect(args.kubeconfig, args.context, args.namespace)
    lines = end_wakes(api, args.environment, now=now, zone=zone, name=args.name)
    if not lines:
        which = f"wake {args.name!r}" if args.name else "wake"
        print(f"no active {which} of {args.environment} in namespace {api.namespace}")
        return 0 if args.name is None else 1
    print("\n".join(lines))
    return 0


# -- status ---------------------------------------------------------------------------------


def run_status(args: argparse.Namespace) -> int:
    api = connect(args.kubeconfig, args.context, args.namespace)
    wakes = [
        w
        for w in api.list(all_namespaces=args.all_namespaces)
        if args.environment is None or (w.get("spec") or {}).get("environment") == args.environment
    ]
    wakes.sort(key=lambda w: ((w.get("spec") or {}).get("environment", ""), start_of(w)))
    if args.json:
        print(json.dumps([_as_data(w) for w in wakes], indent=2, ensure_ascii=False))
        return 0
    if not wakes:
        where = "any namespace" if args.all_namespaces else f"namespace {api.namespace}"
        which = f"of {args.environment} " if args.environment else ""
        print(f"no EnvironmentWakes {which}in {where}")
        return 0
    environments, _ = configdir.load_config_dir(args.config_dir)
    current = ""
    for wake in wakes:
        env_name = (wake.get("spec") or {}).get("environment", "?")
        if env_name != current:
            current = env_name
            active = [
                w
                for w in wakes
                if (w.get("spec") or {}).get("environment") == env_name
                and (w.get("status") or {}).get("phase") not in DONE_PHASES
            ]
            print(f"{env_name}: {len(active)} active wake{'s' if len(active) != 1 else ''}")
        env = environments.get(env_name)
        print("\n".join(describe_wake(wake, ZoneInfo(env.config.timezone) if env else UTC)))
    return 0


def _as_data(wake: dict[str, Any]) -> dict[str, Any]:
    meta = wake["metadata"]
    return {
        "namespace": meta.get("namespace"),
        "name": meta["name"],
        "spec": wake.get("spec") or {},
        "status": wake.get("status") or {},
    }


# -- shared ---------------------------------------------------------------------------------


def _now(args: argparse.Namespace) -> datetime:
    return parse_instant(args.now, what="--now") if args.now else datetime.now(UTC)


def _environment(config_dir: Path, name: str) -> Environment | None:
    """ENV's config when the config directory is at hand; None when there is none."""
    if not config_dir.is_dir():
        return None
    environments, problems = configdir.load_config_dir(config_dir)
    if name in environments:
        return environments[name]
    if problems:
        details = "; ".join(str(p) for p in problems)
        raise errors.EnvwakeError(
            f"environment {name!r}: invalid config in {config_dir}: {details}"
        )
    known = ", ".join(sorted(environments)) or "none"
    raise errors.EnvwakeError(f"unknown environment {name!r} in {config_dir} (known: {known})")


def _zone(environment: Environment | None, flag: str | None, *, needed: bool) -> tzinfo | None:
    if flag:
        try:
            return ZoneInfo(flag)
        except (ZoneInfoNotFoundError, ValueError):
            fail(f"--timezone {flag!r} is not an IANA time zone like Asia/Tokyo")
    if environment is not None:
        return ZoneInfo(environment.config.timezone)
    if needed:
        fail(
            "a time of day needs the environment's time zone: pass --config-dir with its "
            "config, or --timezone (or write RFC 3339 with an offset)"
        )
    return None


def _relative(*texts: str | None) -> bool:
    return any(text and is_time_of_day(text) for text in texts)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
