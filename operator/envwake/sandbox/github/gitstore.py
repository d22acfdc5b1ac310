"""Operations on the emulator's bare repositories, with the git command line."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

__all__ = ["GitStore", "MergeConflict"]

_IDENTITY = {
    "GIT_AUTHOR_NAME": "GitHub",
    "GIT_AUTHOR_EMAIL": "noreply@github.com",
    "GIT_COMMITTER_NAME": "GitHub",
    "GIT_COMMITTER_EMAIL": "noreply@github.com",
}


class MergeConflict(Exception):
    pass


class GitStore:
    """One bare repository."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def git(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        strip: bool = True,
    ) -> str:
        done = subprocess.run(
            ["git", "--git-dir", str(self.path), *args],
            input=input,
            capture_output=True,
            text=True,
            env={**os.environ, **_IDENTITY, **(env or {})},
            check=False,
        )
        if done.returncode != 0:
            raise subprocess.CalledProcessError(done.returncode, args, done.stdout, done.stderr)
        return done.stdout.strip() if strip else done.stdout

    @classmethod
    def create(cls, path: Path, *, default_branch: str) -> GitStore:
        subprocess.run(
            ["git", "init", "--quiet", "--bare", f"--initial-branch={default_branch}", str(path)],
            check=True,
        )
        store = cls(path)
        # Partial clone and fetching by object id, as GitHub allows.
        store.git("config", "uploadpack.allowFilter", "true")
        store.git("config", "uploadpack.allowAnySHA1InWant", "true")
        store.git("config", "http.receivepack", "true")
        return store

    def ref(self, name: str) -> str | None:
        loose = self.path / "refs" / "heads" / name  # (git writes it whole, by a rename)
        with contextlib.suppress(OSError, ValueError):
            sha = loose.read_text(encoding="ascii").strip()
            if len(sha) == 40:
                int(sha, 16)
                return sha
        try:
            return self.git("rev-parse", "--verify", "--quiet", f"refs/heads/{name}^{{commit}}")
        except subprocess.CalledProcessError:
            return None

    def refs(self) -> dict[str, str]:
        out = self.git("for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads")
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def set_ref(self, name: str, sha: str, *, expected: str | None) -> None:
        self.git("update-ref", f"refs/heads/{name}", sha, expected or "0" * 40)

    def delete_ref(self, name: str) -> None:
        self.git("update-ref", "-d", f"refs/heads/{name}")

    def merge_tree(self, base: str, head: str) -> str:
        """The tree of merging ``head`` into ``base``; raises MergeConflict."""
        try:
            return self.git("merge-tree", "--write-tree", base, head).splitlines()[0]
        except subprocess.CalledProcessError as exc:
            if exc.returncode == 1:
                raise MergeConflict(f"{head} conflicts with {base}") from None
            raise

    def commit_tree(self, tree: str, parents: list[str], message: str) -> str:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return self.git(*args, "-m", message)

    def message(self, sha: str) -> str:
        return self.git("log", "-1", "--format=%B", sha)

    def commit_files(self, branch: str, files: Mapping[str, str | None], message: str) -> str:
        """Commit ``files`` (path → text; None removes it) on top of ``branch`` without a
        working tree."""
        parent = self.ref(branch)
        index = self.path / f"envwake-emulator-index-{os.getpid()}"
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            if parent:
                self.git("read-tree", parent, env=env)
            for path, text in files.items():
                if text is None:  # (a bare repository: remove through --index-info)
                    self.git(
                        "update-index", "--index-info", input=f"0 {'0' * 40}\t{path}\n", env=env
                    )
                    continue
                blob = self.git("hash-object", "-w", "--stdin", input=text)
                self.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = self.git("write-tree", env=env)
        finally:
            index.unlink(missing_ok=True)
        sha = self.commit_tree(tree, [parent] if parent else [], message)
        self.set_ref(branch, sha, expected=parent)
        return sha

    def commit(self, sha: str) -> dict[str, object]:
        """One commit's tree, parents, people (name, email, ISO date) and message."""
        fields = "%T%n%P%n%an%n%ae%n%aI%n%cn%n%ce%n%cI%n%B"
        tree, parents, *people, message = self.git(
            "log", "-1", f"--format={fields}", sha, strip=False
        ).split("\n", 8)
        an, ae, ad, cn, ce, cd = people
        return {
            "sha": self.git("rev-parse", f"{sha}^{{commit}}"),
            "tree": tree,
            "parents": parents.split(),
            "author": {"name": an, "email": ae, "date": ad},
            "committer": {"name": cn, "email": ce, "date": cd},
            "message": message.rstrip("\n"),
        }

    def compare(self, base: str, head: str) -> tuple[str, int, int, str]:
        """How ``head`` relates to ``base``, as GitHub's compare says it: status
        (identical, ahead, behind, diverged), ahead_by, behind_by, and the merge base."""
        merge_base = self.git("merge-base", base, head)
        behind, ahead = (
            int(n)
            for n in self.git("rev-list", "--left-right", "--count", f"{base}...{head}").split()
        )
        status = (
            "identical"
            if not ahead and not behind
            else "ahead"
            if not behind
            else "behind"
            if not ahead
            else "diverged"
        )
        return status, ahead, behind, merge_base

    def commits_between(self, base: str, head: str, *, limit: int) -> list[str]:
        """The commits in ``head`` not in ``base``, oldest first, at most ``limit``."""
        out = self.git("rev-list", "--reverse", f"{base}..{head}")
        return out.split()[:limit]

    def read_file(self, ref: str, path: str) -> str:
        return self.git("show", f"{ref}:{path}", strip=False)
