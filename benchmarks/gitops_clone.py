"""Working-copy cost for one change set: envwake's layer vs the naive ways, same run.

A generated Flux repository of 20,000 manifests in 2,000 directories with 1,000 commits
is served by the GitHub emulator over smart HTTP. One change set edits 20 manifests
(minReplicaCount), commits and pushes a branch, done three ways:

- envwake: blobless (``--filter=blob:none``), depth-1, sparse (no-cone, the 20 files)
  clone through ``envwake.gitops.workingcopy.WorkingCopy``;
- depth 1: ``git clone --depth 1 --single-branch`` with a full checkout (what the
  original tool did);
- full: a plain ``git clone``.

It prints bytes fetched (counted by the emulator), wall time and disk for each, and the
ratios against envwake.

    .venv/bin/python benchmarks/gitops_clone.py [--files 20000] [--commits 1000] [--edits 20]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from envwake.gitops import Secret
from envwake.gitops.workingcopy import WorkingCopy, git_environment
from envwake.manifests import set_min_replicas
from envwake.sandbox.github import GitHubEmulator
from envwake.sandbox.manifest_styles import ManifestStyle, scaled_object

REPO = "acme/flux-big"
STYLES = [
    ManifestStyle(),
    ManifestStyle(compact_sequences=True, comments=True),
    ManifestStyle(indent=4),
    ManifestStyle(crlf=True, quote="single"),
]


def path_of(index: int) -> str:
    return f"apps/team-{index // 100:02d}/svc-{index // 10:04d}/part-{index % 10}.yaml"


def generate(store_path: Path, files: int, commits: int, seed: int) -> None:
    """Write the repository's history with git fast-import (seconds, not minutes)."""
    rng = random.Random(seed)
    stream: list[bytes] = []

    def blob(mark: int, text: str) -> None:
        data = text.encode()
        stream.append(b"blob\nmark :%d\ndata %d\n%s\n" % (mark, len(data), data))

    def manifest(index: int, replicas: int) -> str:
        return scaled_object(
            f"svc-{index}", "dev", style=STYLES[index % 4], desired_replicas=replicas
        )

    mark = 0
    marks = []
    for index in range(files):
        mark += 1
        blob(mark, manifest(index, 2))
        marks.append(mark)
    when = 1_700_000_000
    for number in range(commits):
        changes = range(files) if number == 0 else rng.sample(range(files), 20)
        for index in changes if number else []:
            mark += 1
            blob(mark, manifest(index, rng.randint(1, 5)))
            marks[index] = mark
        message = f"commit {number}".encode()
        stream.append(b"commit refs/heads/master\n")
        stream.append(b"committer Flux <flux@example.com> %d +0000\n" % (when + number * 60))
        stream.append(b"data %d\n%s\n" % (len(message), message))
        for index in changes:
            stream.append(b"M 100644 :%d %s\n" % (marks[index], path_of(index).encode()))
        stream.append(b"\n")
    subprocess.run(
        ["git", "--git-dir", str(store_path), "fast-import", "--quiet"],
        input=b"".join(stream),
        check=True,
    )
    subprocess.run(["git", "--git-dir", str(store_path), "repack", "-adq"], check=True)


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def edit_commit_push(directory: Path, env: dict[str, str], paths: list[str], branch: str) -> None:
    for path in paths:
        file = directory / path
        file.write_bytes(set_min_replicas(file.read_bytes().decode(), 3, source=path).text.encode())

    def run(*args: str) -> None:
        subprocess.run(
            ["git", "-C", str(directory), *args], env=env, check=True, capture_output=True
        )

    run("add", "--", *paths)
    run("commit", "-q", "-m", "envwake: start dev")
    run("push", "-q", "origin", f"HEAD:refs/heads/{branch}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--commits", type=int, default=1_000)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    with GitHubEmulator() as github:
        app_id, _ = github.service.create_app()
        repo = github.service.create_repository(REPO)
        installation = github.service.install(app_id, "acme", [REPO])
        started = time.perf_counter()
        generate(repo.store.path, args.files, args.commits, args.seed)
        pack = du(repo.store.path)
        print(
            f"repository: {args.files} manifests, {args.commits} commits, {pack / 1e6:.1f} MB "
            f"packed (generated in {time.perf_counter() - started:.1f} s)"
        )
        token = github.service.issue_token(github.state.apps[app_id], installation, None, None)
        secret = Secret(token.value)
        url = github.clone_url(REPO)
        env = {**os.environ, **git_environment(url, secret)}
        paths = [path_of(i) for i in random.Random(1).sample(range(args.files), args.edits)]

        def envwake(directory: Path) -> None:
            copy = WorkingCopy.clone(
                url=url, branch="master", paths=paths, token=secret, directory=directory
            )
            edit_commit_push(directory, env, paths, "bench/envwake")
            assert copy.head

        def depth_one(directory: Path) -> None:
            subprocess.run(
                [
                    "git",
                    "clone",
                    "-q",
                    "--depth=1",
                    "--single-branch",
                    "--branch=master",
                    url,
                    str(directory),
                ],
                env=env,
                check=True,
            )
            edit_commit_push(directory, env, paths, "bench/depth1")

        def full(directory: Path) -> None:
            subprocess.run(["git", "clone", "-q", url, str(directory)], env=env, check=True)
            edit_commit_push(directory, env, paths, "bench/full")

        results = []
        strategies: list[tuple[str, Callable[[Path], None]]] = [
            ("envwake: blobless depth-1 sparse", envwake),
            ("--depth 1, full checkout", depth_one),
            ("full clone", full),
        ]
        for name, strategy in strategies:
            scratch = Path(tempfile.mkdtemp(prefix="envwake-bench-"))
            before = len(github.git_bytes_sent)
            started = time.perf_counter()
            strategy(scratch / "wc")
            seconds = time.perf_counter() - started
            fetched = sum(github.git_bytes_sent[before:])
            results.append((name, fetched, seconds, du(scratch / "wc")))
            shutil.rmtree(scratch)

    print(f"\none change set: {args.edits} manifests edited, one commit, pushed to a branch\n")
    header = (
        f"{'strategy':<34} {'fetched':>11} {'wall':>8} {'disk':>11}"
        "   vs envwake (fetched / wall / disk)"
    )
    print(header)
    print("-" * len(header))
    base = results[0]
    for name, fetched, seconds, disk in results:
        ratios = f"{fetched / base[1]:6.0f}x / {seconds / base[2]:4.1f}x / {disk / base[3]:5.0f}x"
        print(f"{name:<34} {fetched / 1e6:8.2f} MB {seconds:7.2f}s {disk / 1e6:8.2f} MB   {ratios}")
    print(
        "\nfetched: bytes the server sent for clone, lazy fetches and push; disk: the working copy."
    )


if __name__ == "__main__":
    main()
