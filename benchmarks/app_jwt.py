"""The GitHub App's JWT, signed for every installation token: envwake's way vs the naive
way vs the limit, same run.

- naive: PyGithub given the PEM text, as envwake did before: the key is loaded (and
  checked: RSA key loading verifies the key) at every signature;
- envwake: ``AppCredentials.signing_key()``, loaded once, then a signature each time;
- limit: the RS256 signature alone, with a key object made outside the loop.

    .venv/bin/python benchmarks/app_jwt.py [--tokens 50]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from envwake.gitops import AppCredentials, Secret
from github import Auth


def per_call(work: Callable[[], object], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        work()
    return (time.perf_counter() - started) / count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=50)
    args = parser.parse_args(argv)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    credentials = AppCredentials(1, 2, Secret(pem))
    payload = {"iss": "1", "iat": 0, "exp": 600}

    def naive() -> object:
        return Auth.AppAuth(1, pem).create_jwt()

    def envwake() -> object:
        return jwt.encode(payload, credentials.signing_key(), algorithm="RS256")  # type: ignore[arg-type]

    def limit() -> object:
        return jwt.encode(payload, key, algorithm="RS256")

    rows = [(name, per_call(work, args.tokens)) for name, work in
            (("naive (PEM each time)", naive), ("envwake (key loaded once)", envwake),
             ("limit (signature only)", limit))]  # fmt: skip
    ours = rows[1][1]
    print(f"{'JWT for one installation token':<30} {'ms':>8} {'vs envwake':>11}")
    for name, seconds in rows:
        print(f"{name:<30} {seconds * 1000:8.2f} {seconds / ours:10.1f}x")


if __name__ == "__main__":
    main()
