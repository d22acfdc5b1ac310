"""A problem found in an input: which file, where in the document, and what is wrong."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml.error import MarkedYAMLError, YAMLError

__all__ = ["Problem", "format_location", "from_validation_error", "yaml_error_message"]


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    path: str  # e.g. ``services[2].manifest.scaledObject.path``; empty for the whole file
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.path}: {self.message}"
            if self.path
            else f"{self.file}: {self.message}"
        )


def format_location(location: Sequence[int | str]) -> str:
    """``("services", 2, "clusterID")`` → ``services[2].clusterID``."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def from_validation_error(
    error: ValidationError, *, file: str, drop: frozenset[str] = frozenset()
) -> list[Problem]:
    """One problem per pydantic error; ``drop`` removes union tags from locations."""
    problems = []
    for detail in error.errors(include_url=False):
        location = [part for part in detail["loc"] if part not in drop]
        message = _message(detail)
        problems.append(Problem(file, format_location(location), message))
    return sorted(set(problems))


def _message(detail: ErrorDetails) -> str:
    kind = detail["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(detail["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def yaml_error_message(error: YAMLError) -> str:
    """``invalid YAML at line 3, column 7: <what the parser found>``."""
    if isinstance(error, MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return f"invalid YAML{where}: {error.problem or error.context or 'unreadable'}"
    return f"invalid YAML: {error}"
