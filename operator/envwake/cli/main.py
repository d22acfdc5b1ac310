"""Entry point of the ``envwake`` command."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from envwake import errors
from envwake.cli import config, demo, manifest, plan, run, slack, wakes
from envwake.cli.parsing import ArgumentParser, fail

__all__ = ["build_parser", "main"]


def build_parser() -> ArgumentParser:
    invoked = Path(sys.argv[0]).name
    parser = ArgumentParser(
        prog="kubectl envwake" if invoked.startswith("kubectl-") else "envwake",
        description="Wake GitOps-managed development environments, and put them back to sleep.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wakes.register(subparsers)
    run.register(subparsers)
    plan.register(subparsers)
    config.register(subparsers)
    manifest.register(subparsers)
    slack.register(subparsers)
    demo.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for any error of input)."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except errors.EnvwakeError as exc:
        fail(str(exc))
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (`| head`): not an error of ours
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
