from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from envwake.gitops import AppCredentials, GitHubSession, Secret, Timing
from envwake.model.environment import GitSettings
from envwake.sandbox.github import CiJob, GitHubEmulator
from envwake.sandbox.manifest_styles import ManifestStyle, deployment, scaled_object
from tests.fakes import FakeTime

from .openapi_check import violations

REPO = "acme/flux-dev"


@dataclass
class Flux:
    github: GitHubEmulator
    credentials: AppCredentials
    private_key: str
    time: FakeTime
    tmp: Path

    @property
    def repo(self):
        return self.github.state.repositories[REPO]

    def session(self, **kwargs) -> GitHubSession:
        kwargs.setdefault("sleep", self.time.sleep)
        return GitHubSession(self.credentials, REPO, spacing=False, **kwargs)

    def timing(self, **kwargs) -> Timing:
        kwargs.setdefault("check_timeout", 900)
        return Timing(sleep=self.time.sleep, monotonic=self.time.monotonic, **kwargs)

    def base_file(self, path: str) -> str:
        return self.repo.store.read_file(self.repo.default_branch, path)

    def secrets(self) -> list[str]:
        tokens = list(self.github.state.tokens)
        return [*tokens, self.private_key.strip().splitlines()[1]]


SERVICES = {
    "apps/shop/api": ManifestStyle(),
    "apps/shop/web": ManifestStyle(compact_sequences=True, comments=True, japanese_comments=True),
    "apps/payments/ledger": ManifestStyle(indent=4, crlf=True),
}


def manifests() -> dict[str, str]:
    files = {}
    for folder, style in SERVICES.items():
        name = folder.rsplit("/", 1)[-1]
        files[f"{folder}/scaledobject.yaml"] = scaled_object(
            name, "dev", style=style, desired_replicas=2
        )
        files[f"{folder}/deployment.yaml"] = deployment(name, "dev", style=style)
    files["README.md"] = "# flux-dev\n"
    return files


@pytest.fixture
def github():
    problems: list[str] = []

    def check(record):
        if not record.injected:
            problems.extend(violations(record.method, record.route, record.status, record.body))

    with GitHubEmulator(on_response=check) as emulator:
        emulator.service.freeze_clock()
        yield emulator
    assert problems == [], "responses that do not match GitHub's OpenAPI description"


@pytest.fixture
def flux(github, tmp_path) -> Flux:
    app_id, key = github.service.create_app()
    github.service.create_repository(
        REPO, files=manifests(), required_checks=["build"], ci=[CiJob("build", seconds=60)]
    )
    installation = github.service.install(app_id, "acme", [REPO])
    credentials = AppCredentials(
        app_id, installation, Secret(key.decode().strip() + "\n"), api_url=github.url
    )
    return Flux(github, credentials, key.decode(), FakeTime(github), tmp_path)


def settings(**kwargs) -> GitSettings:
    return GitSettings.model_validate({"repository": REPO, **kwargs})


def assert_no_secret(flux: Flux, *texts: str) -> None:
    for secret in flux.secrets():
        for text in texts:
            assert secret not in text


def pr_texts(flux: Flux) -> list[str]:
    return [t for pr in flux.repo.pulls.values() for t in (pr.title, pr.body or "", *pr.comments)]


def count(flux: Flux, method: str, pattern: str) -> int:
    return sum(1 for m, p, _ in flux.github.requests if m == method and re.search(pattern, p))
