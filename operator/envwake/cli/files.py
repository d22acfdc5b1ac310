"""Read and write the text files the CLI edits, byte for byte."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from envwake import errors

__all__ = ["read_text", "write_text_atomically"]


def read_text(path: Path) -> str:
    """The file decoded as UTF-8, exactly: a BOM stays as U+FEFF, CRLF stays CRLF."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise errors.ManifestNotFound(f"{path}: no such file") from None
    except IsADirectoryError:
        raise errors.ManifestNotFound(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise errors.ManifestNotFound(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.ManifestUnreadable(
            f"{path}: not UTF-8 (byte {exc.start}: {data[exc.start : exc.start + 1]!r})"
        ) from None


def write_text_atomically(path: Path, text: str) -> None:
    """Replace the file's content in one step, keeping its permissions."""
    mode = path.stat().st_mode & 0o7777
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
