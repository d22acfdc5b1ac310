"""A working copy that costs the same whatever the repository's size or history: a
blobless, depth-1, sparse clone of the base branch with only the files to edit checked
out. The token reaches git through the environment (``GIT_CONFIG_*``), never the URL or
``.git/config``."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from git import GitCommandError, Repo

from envwake import errors
from envwake.gitops.credentials import Secret

__all__ = ["WorkingCopy", "git_environment"]

AUTHOR = ("envwake[bot]", "envwake[bot]@users.noreply.github.com")


def git_environment(url: str, token: Secret) -> dict[str, str]:
    """Environment that makes git send the token to ``url``'s host and nowhere else."""
    parts = urlsplit(url)
    scope = f"{parts.scheme}://{parts.netloc}/"
    basic = base64.b64encode(f"x-access-token:{token.reveal()}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{scope}.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": AUTHOR[0],
        "GIT_AUTHOR_EMAIL": AUTHOR[1],
        "GIT_COMMITTER_NAME": AUTHOR[0],
        "GIT_COMMITTER_EMAIL": AUTHOR[1],
    }


class WorkingCopy:
    def __init__(self, repo: Repo, directory: Path, token: Secret) -> None:
        self.repo = repo
        self.directory = directory
        self._token = token

    @classmethod
    def clone(
        cls, *, url: str, branch: str, paths: Iterable[str], token: Secret, directory: Path
    ) -> WorkingCopy:
        env = git_environment(url, token)
        try:
            repo = Repo.clone_from(
                url,
                directory,
                multi_options=[
                    "--filter=blob:none",
                    "--depth=1",
                    "--sparse",
                    "--single-branch",
                    f"--branch={branch}",
                    "--no-tags",
                ],
                env={**os.environ, **env},
            )
            repo.git.update_environment(**env)
            copy = cls(repo, directory, token)
            copy._git("sparse-checkout", "set", "--no-cone", *(f"/{p}" for p in paths))
        except GitCommandError as exc:
            raise errors.GitFailed(
                _scrub(f"cloning {url} ({branch}) failed: {_stderr(exc)}", token)
            ) from None
        return copy

    def _git(self, *args: str) -> str:
        try:
            return str(self.repo.git.execute(["git", *args]))
        except GitCommandError as exc:
            raise errors.GitFailed(
                _scrub(f"git {args[0]} failed: {_stderr(exc)}", self._token)
            ) from None

    @property
    def head(self) -> str:
        return self._git("rev-parse", "HEAD")

    def read(self, path: str) -> str | None:
        file = self.directory / path
        if not file.is_file():
            return None
        try:
            return file.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise errors.ManifestUnreadable(
                f"{path}: not UTF-8 (byte {exc.start}); envwake edits UTF-8 manifests only"
            ) from None

    def write(self, path: str, text: str) -> None:
        (self.directory / path).write_bytes(text.encode("utf-8"))

    def commit(self, message: str, paths: Iterable[str]) -> str:
        self._git("add", "--", *paths)
        self._git("commit", "--quiet", "--no-verify", "-m", message)
        return self.head

    def remote_branch(self, branch: str) -> str | None:
        out = self._git("ls-remote", "origin", f"refs/heads/{branch}")
        return out.split()[0] if out else None

    def same_change(self, remote: str, local: str) -> bool:
        """Whether ``remote`` (a pushed branch head) is ``local`` in all but commit time:
        the same tree on the same parent."""
        self._git("fetch", "--quiet", "--depth=1", "--filter=blob:none", "origin", remote)
        return self._tree_and_parents(remote) == self._tree_and_parents(local)

    def _tree_and_parents(self, commit: str) -> list[str]:
        # The raw object, because a shallow fetch grafts the parents away from %P.
        raw = self._git("cat-file", "commit", commit).split("\n\n", 1)[0]
        return [line for line in raw.splitlines() if line.startswith(("tree ", "parent "))]

    def push(self, branch: str, *, lease: str | None) -> None:
        """Push HEAD to ``branch``, only if it is still at ``lease`` (absent when None)."""
        self._git(
            "push",
            "--quiet",
            "--porcelain",
            f"--force-with-lease=refs/heads/{branch}:{lease or ''}",
            "origin",
            f"HEAD:refs/heads/{branch}",
        )


def _stderr(exc: GitCommandError) -> str:
    text = exc.stderr if isinstance(exc.stderr, str) else str(exc.stderr or "")
    return " ".join(text.replace("stderr:", "").split())[-500:] or f"exit {exc.status}"


def _scrub(text: str, token: Secret) -> str:
    secret = token.reveal()
    basic = base64.b64encode(f"x-access-token:{secret}".encode()).decode()
    return text.replace(secret, "********").replace(basic, "********")
