"""The GitHub App's identity: from a mounted Secret (files) or environment variables."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from envwake import errors

__all__ = ["DEFAULT_API_URL", "AppCredentials", "Secret"]

DEFAULT_API_URL = "https://api.github.com"
_ENV = "ENVWAKE_GITHUB_"


class Secret:
    """A value that never shows itself in a repr, a str, a log or an exception."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class AppCredentials:
    app_id: int
    installation_id: int
    private_key: Secret
    api_url: str = DEFAULT_API_URL

    def signing_key(self) -> PrivateKeyTypes:
        """The private key, loaded once: loading checks the RSA key, which costs fifty
        times the signing of a JWT (and a JWT is signed for every installation token)."""
        return _loaded(self.private_key)

    @classmethod
    def from_directory(cls, directory: Path) -> AppCredentials:
        """A mounted Secret: files ``app-id``, ``installation-id``, ``private-key`` and,
        optionally, ``api-url``."""

        def read(name: str) -> str | None:
            path = directory / name
            return path.read_text().strip() if path.is_file() else None

        return cls._build(
            {
                "app-id": read("app-id"),
                "installation-id": read("installation-id"),
                "private-key": read("private-key"),
                "api-url": read("api-url"),
            },
            where=f"in {directory}",
        )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> AppCredentials:
        """``ENVWAKE_GITHUB_APP_ID``, ``_INSTALLATION_ID``, ``_PRIVATE_KEY`` (the PEM) or
        ``_PRIVATE_KEY_FILE``, and optionally ``_API_URL``."""
        env = os.environ if environ is None else environ
        key = env.get(f"{_ENV}PRIVATE_KEY")
        key_file = env.get(f"{_ENV}PRIVATE_KEY_FILE")
        if key is None and key_file:
            try:
                key = Path(key_file).read_text()
            except OSError as exc:
                raise errors.CredentialsInvalid(
                    f"cannot read {_ENV}PRIVATE_KEY_FILE {key_file}: {exc.strerror}"
                ) from None
        return cls._build(
            {
                "app-id": env.get(f"{_ENV}APP_ID"),
                "installation-id": env.get(f"{_ENV}INSTALLATION_ID"),
                "private-key": key,
                "api-url": env.get(f"{_ENV}API_URL"),
            },
            where=f"in the environment ({_ENV}*)",
        )

    @classmethod
    def _build(cls, values: Mapping[str, str | None], *, where: str) -> AppCredentials:
        missing = [
            name for name in ("app-id", "installation-id", "private-key") if not values[name]
        ]
        if missing:
            raise errors.CredentialsInvalid(f"GitHub App {', '.join(missing)} missing {where}")
        numbers = {}
        for name in ("app-id", "installation-id"):
            text = str(values[name])
            if not text.isdigit():
                raise errors.CredentialsInvalid(f"GitHub App {name} {where} is not a number")
            numbers[name] = int(text)
        key = str(values["private-key"]).strip() + "\n"
        try:
            _loaded(Secret(key))
        except (ValueError, TypeError):
            raise errors.CredentialsInvalid(
                f"GitHub App private-key {where} is not a PEM private key"
            ) from None
        return cls(
            app_id=numbers["app-id"],
            installation_id=numbers["installation-id"],
            private_key=Secret(key),
            api_url=(values["api-url"] or DEFAULT_API_URL).rstrip("/"),
        )


@functools.lru_cache(maxsize=4)
def _loaded(key: Secret) -> PrivateKeyTypes:
    return load_pem_private_key(key.reveal().encode(), password=None)
