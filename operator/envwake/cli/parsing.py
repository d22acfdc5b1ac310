"""argparse, made to fail with one clear line and exit code 2."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

__all__ = ["ArgumentParser", "fail"]


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        fail(f"{self.prog}: {message} (see --help)")


def fail(message: str) -> NoReturn:
    """Print ``envwake: message`` on stderr and exit with status 2."""
    print(f"envwake: {message}", file=sys.stderr)
    raise SystemExit(2)
