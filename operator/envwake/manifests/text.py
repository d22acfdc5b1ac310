"""Positions in a YAML text, and applying edits at them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ruamel.yaml.nodes import Node

__all__ = [
    "TextEdit",
    "apply_edits",
    "indent_of",
    "line_break_at",
    "line_start",
    "next_line_start",
]

BOM = "\ufeff"


@dataclass(frozen=True, order=True)
class TextEdit:
    """Replace ``text[start:end]`` with ``replacement``."""

    start: int
    end: int
    replacement: str


def apply_edits(text: str, edits: Iterable[TextEdit]) -> str:
    """Apply non-overlapping edits, given in any order."""
    result = text
    previous_start = len(text) + 1
    for edit in sorted(edits, reverse=True):
        if edit.end > previous_start:
            raise ValueError(f"overlapping edits at {edit.start}..{edit.end}")
        result = result[: edit.start] + edit.replacement + result[edit.end :]
        previous_start = edit.start
    return result


def line_start(text: str, index: int) -> int:
    """Index of the first character of the line holding ``index``."""
    return text.rfind("\n", 0, index) + 1


def next_line_start(text: str, index: int) -> int:
    """Index just past the line break of the line holding ``index``; len(text) at EOF."""
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


def line_break_at(text: str, index: int) -> str:
    """The line break that ends the line holding ``index``, else the file's first, else LF."""
    newline = text.find("\n", index)
    if newline < 0:
        newline = text.find("\n")
    if newline < 0:
        return "\n"
    return "\r\n" if newline > 0 and text[newline - 1] == "\r" else "\n"


def indent_of(text: str, node: Node) -> int:
    """The column a sibling of ``node`` on a line of its own would start at.

    Sequence dashes in front of the node (compact style, ``- key: v``) count as
    indentation; a BOM does not.
    """
    index = node.start_mark.index
    prefix = text[line_start(text, index) : index]
    return len(prefix.replace(BOM, ""))
