"""``envwake config validate``: check a directory of environment configs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from envwake import configdir

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("config", help="work with environment configs")
    commands = parser.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    validate = commands.add_parser(
        "validate",
        help="check every environment config in a directory",
        description="Print one line per problem (file: path: message) and exit 2, "
        "or a summary and exit 0.",
    )
    validate.add_argument("directory", type=Path, metavar="DIR")
    validate.set_defaults(run=_validate)


def _validate(args: argparse.Namespace) -> int:
    environments, problems = configdir.load_config_dir(args.directory)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 2
    for name, environment in sorted(environments.items()):
        print(
            f"{environment.source}: {name}: {len(environment.services)} service(s), "
            f"{len(environment.clusters)} Aurora cluster(s), repository "
            f"{environment.config.git.repository}@{environment.config.git.base_branch}"
        )
    print(f"{len(environments)} environment(s) valid in {args.directory}")
    return 0
