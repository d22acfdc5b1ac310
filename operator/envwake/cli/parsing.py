"""argparse, made to fail with one clear line and exit code 2."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

__all__ = ["ArgumentParser", "add_cluster_arguments", "fail"]


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        fail(f"{self.prog}: {message} (see --help)")


def fail(message: str) -> NoReturn:
    """Print ``envwake: message`` on stderr and exit with status 2."""
    print(f"envwake: {message}", file=sys.stderr)
    raise SystemExit(2)


def add_cluster_arguments(parser: Any) -> None:
    """--kubeconfig, --context and --namespace, as kubectl has them."""
    parser.add_argument("--kubeconfig", metavar="FILE", help="default: $KUBECONFIG or ~/.kube")
    parser.add_argument("--context", metavar="NAME", help="default: the current context")
    parser.add_argument(
        "-n", "--namespace", metavar="NS", help="default: the context's namespace, else default"
    )
