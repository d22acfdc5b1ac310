"""Render scalars and keys as YAML text, and read scalar nodes back as values."""

from __future__ import annotations

import re

from ruamel.yaml.nodes import ScalarNode

__all__ = [
    "INT_TAG",
    "NULL_TAG",
    "STR_TAG",
    "is_null",
    "render_key",
    "render_string",
]

NULL_TAG = "tag:yaml.org,2002:null"
INT_TAG = "tag:yaml.org,2002:int"
STR_TAG = "tag:yaml.org,2002:str"

# A key written plain must read back as the same string under YAML 1.1 and 1.2 alike.
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*\Z")
_NON_STRING_WORDS = frozenset(
    {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}
)


def is_null(node: ScalarNode) -> bool:
    return bool(node.tag == NULL_TAG)


def render_key(key: str) -> str:
    """``key`` as a mapping key: plain when that is unambiguous, else double-quoted."""
    if _PLAIN_KEY.match(key) and key.lower() not in _NON_STRING_WORDS:
        return key
    return render_string(key)


def render_string(value: str, *, single_quoted: bool = False) -> str:
    """``value`` as a quoted YAML string that always reads back as exactly ``value``.

    Single quotes are used when asked for and able to carry the value (no line breaks
    or unprintable characters); otherwise double quotes with escapes.
    """
    if single_quoted and all(_printable(ch) and ch not in "\r\n" for ch in value):
        return "'" + value.replace("'", "''") + "'"
    return '"' + "".join(_escape(ch) for ch in value) + '"'


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if _printable(ch):
        return ch
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _printable(ch: str) -> bool:
    # YAML 1.2 c-printable, minus the BOM and line/paragraph separators that some
    # readers treat as line breaks.
    code = ord(ch)
    if ch in "\ufeff\u2028\u2029\x85":
        return False
    return (
        code in (0x09, 0x0A, 0x0D)
        or 0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )
