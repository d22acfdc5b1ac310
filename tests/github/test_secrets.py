"""The installation token and the App key never reach logs, exceptions, pull requests or
``.git/config``."""

from __future__ import annotations

import logging
import subprocess

import pytest

from envwake import errors
from envwake.gitops import AppCredentials, Secret
from envwake.gitops.workingcopy import WorkingCopy
from envwake.sandbox.github import CiJob, Fault

from .conftest import REPO, assert_no_secret, pr_texts
from .test_delivery import run


def test_token_reaches_git_through_the_environment_only(flux):
    with flux.session() as github:
        copy = WorkingCopy.clone(
            url=flux.github.clone_url(REPO),
            branch="master",
            paths=["apps/shop/api/scaledobject.yaml"],
            token=github.token,
            directory=flux.tmp / "wc",
        )
        token = github.token.reveal()
        config = (flux.tmp / "wc" / ".git" / "config").read_text()
        assert token not in config
        assert "extraheader" not in config.lower()
        remote = subprocess.run(
            ["git", "-C", str(flux.tmp / "wc"), "remote", "-v"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert token not in remote
        # Only the file to edit is checked out; the rest of the tree is not on disk.
        files = sorted(
            p.relative_to(flux.tmp / "wc").as_posix()
            for p in (flux.tmp / "wc").rglob("*")
            if p.is_file() and ".git" not in p.parts
        )
        assert files == ["apps/shop/api/scaledobject.yaml"]
        assert copy.read("apps/shop/api/scaledobject.yaml") is not None


def test_git_failure_message_carries_no_token(flux):
    with flux.session() as github:
        token = github.token.reveal()
        with pytest.raises(errors.GitFailed) as failed:
            WorkingCopy.clone(
                url=flux.github.clone_url("acme/missing"),
                branch="master",
                paths=["x.yaml"],
                token=github.token,
                directory=flux.tmp / "wc",
            )
    assert token not in str(failed.value)
    assert "cloning" in str(failed.value)


@pytest.mark.parametrize(
    "arrange",
    [
        pytest.param(lambda f: None, id="success"),
        pytest.param(
            lambda f: setattr(f.repo, "ci", [CiJob("build", outcome="failure")]), id="check-failed"
        ),
        pytest.param(
            lambda f: f.github.service.inject(Fault("GET", "/pulls$", 502, times=9)), id="5xx"
        ),
        pytest.param(
            lambda f: f.github.service.inject(Fault("GET", "/pulls$", 401, times=2)), id="401"
        ),
    ],
)
def test_no_secret_in_logs_exceptions_or_pull_requests(flux, caplog, arrange):
    caplog.set_level(logging.DEBUG)
    arrange(flux)
    message = ""
    try:
        run(flux)
    except errors.EnvwakeError as exc:
        message = f"{exc!r} {exc}"
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert_no_secret(flux, message, logs, *pr_texts(flux))


def test_secret_never_shows_itself():
    secret = Secret("ghs_supersecret")
    assert "supersecret" not in repr(secret)
    assert "supersecret" not in str(secret)
    assert "supersecret" not in f"{secret}"
    assert secret.reveal() == "ghs_supersecret"
    credentials = AppCredentials(1, 2, Secret("-----BEGIN RSA PRIVATE KEY-----\nabc"))
    assert "abc" not in repr(credentials)


# -- where credentials come from ----------------------------------------------------------------


def test_credentials_from_a_mounted_secret(flux, tmp_path):
    (tmp_path / "app-id").write_text(f"{flux.credentials.app_id}\n")
    (tmp_path / "installation-id").write_text(f"{flux.credentials.installation_id}\n")
    (tmp_path / "private-key").write_text(flux.private_key)
    (tmp_path / "api-url").write_text(flux.github.url + "/\n")
    credentials = AppCredentials.from_directory(tmp_path)
    assert credentials == flux.credentials


def test_credentials_from_the_environment(flux, tmp_path):
    key = tmp_path / "key.pem"
    key.write_text(flux.private_key)
    env = {
        "ENVWAKE_GITHUB_APP_ID": str(flux.credentials.app_id),
        "ENVWAKE_GITHUB_INSTALLATION_ID": str(flux.credentials.installation_id),
        "ENVWAKE_GITHUB_PRIVATE_KEY_FILE": str(key),
        "ENVWAKE_GITHUB_API_URL": flux.github.url,
    }
    assert AppCredentials.from_environment(env) == flux.credentials
    inline = {**env, "ENVWAKE_GITHUB_PRIVATE_KEY": flux.private_key}
    del inline["ENVWAKE_GITHUB_PRIVATE_KEY_FILE"]
    assert AppCredentials.from_environment(inline) == flux.credentials


def test_default_api_url_is_github(flux):
    credentials = AppCredentials.from_environment(
        {
            "ENVWAKE_GITHUB_APP_ID": "1",
            "ENVWAKE_GITHUB_INSTALLATION_ID": "2",
            "ENVWAKE_GITHUB_PRIVATE_KEY": flux.private_key,
        }
    )
    assert credentials.api_url == "https://api.github.com"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {},
            "GitHub App app-id, installation-id, private-key missing in the environment",
            id="nothing",
        ),
        pytest.param(
            {
                "ENVWAKE_GITHUB_APP_ID": "x",
                "ENVWAKE_GITHUB_INSTALLATION_ID": "2",
                "ENVWAKE_GITHUB_PRIVATE_KEY": "k",
            },
            "app-id in the environment (ENVWAKE_GITHUB_*) is not a number",
            id="not-a-number",
        ),
        pytest.param(
            {
                "ENVWAKE_GITHUB_APP_ID": "1",
                "ENVWAKE_GITHUB_INSTALLATION_ID": "2",
                "ENVWAKE_GITHUB_PRIVATE_KEY": "SECRETSTUFF",
            },
            "private-key in the environment",
            id="bad-pem",
        ),
    ],
)
def test_bad_credentials_are_named_without_their_value(env, message):
    with pytest.raises(errors.CredentialsInvalid) as bad:
        AppCredentials.from_environment(env)
    assert message in str(bad.value)
    assert "SECRETSTUFF" not in str(bad.value)


def test_wrong_key_is_refused_by_github(flux):
    _, other_key = flux.github.service.create_app("other")
    wrong = AppCredentials(
        flux.credentials.app_id,
        flux.credentials.installation_id,
        Secret(other_key.decode()),
        api_url=flux.github.url,
    )
    session = flux.session()
    session.credentials = wrong
    with pytest.raises(errors.GitHubAuthFailed, match="refused the App's JWT"):
        session.mint()


def test_installation_without_the_repository_is_named(flux):
    flux.github.state.installations[flux.credentials.installation_id].repositories.clear()
    with pytest.raises(errors.CredentialsInvalid, match=f"cannot reach {REPO}"):
        flux.session().mint()
