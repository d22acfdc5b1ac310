"""A wake's manifest edits on a real Git repository, with the real ``envwake`` commands."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ruamel.yaml
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from envwake.sandbox.manifest_styles import ManifestStyle, deployment, scaled_object

SERVICES = [  # namespace, service, replicas while awake, style of its files
    ("shop", "api", 3, ManifestStyle()),
    ("shop", "web", 2, ManifestStyle(compact_sequences=True, comments=True)),
    ("shop", "cart", 2, ManifestStyle(indent=4, comments=True, japanese_comments=True)),
    ("payments", "gateway", 2, ManifestStyle(crlf=True, quote="single")),
    ("payments", "ledger", 1, ManifestStyle(bom=True, min_replicas="absent")),
    ("payments", "fraud", 1, ManifestStyle(final_newline=False, blank_lines=True)),
    ("search", "indexer", 1, ManifestStyle(leading_separator=True, min_replicas="null")),
    ("search", "query", 4, ManifestStyle(flow_metadata=True, quote="plain")),
]
ANNOTATION = "flagger.app/restartedAt"

console = Console(highlight=False)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    )
    return done.stdout


def envwake(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "envwake", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"envwake {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def build_repository(repo: Path) -> None:
    git(repo, "init", "--quiet", "--initial-branch=master")
    for namespace, name, replicas, style in SERVICES:
        folder = repo / "apps" / namespace / name
        folder.mkdir(parents=True)
        so = scaled_object(name, namespace, style=style, desired_replicas=replicas)
        (folder / "scaledobject.yaml").write_bytes(so.encode())
        (folder / "deployment.yaml").write_bytes(deployment(name, namespace, style=style).encode())
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=demo", "-c", "user.email=demo@example.com",
        "commit", "--quiet", "-m", "dev environment")  # fmt: skip


def wake(repo: Path, stamp: str) -> None:
    table = Table(title="waking dev: what each service gets")
    for column in ("service", "minReplicaCount", "cron desiredReplicas", "annotation"):
        table.add_column(column)
    for namespace, name, _, _ in SERVICES:
        folder = repo / "apps" / namespace / name
        shown = json.loads(envwake("manifest", "show", str(folder / "scaledobject.yaml")))
        desired = max(t["desiredReplicas"] for t in shown["cronTriggers"])
        envwake("manifest", "set-min-replicas", str(folder / "scaledobject.yaml"),
                "--replicas", str(desired))  # fmt: skip
        envwake("manifest", "set-annotation", str(folder / "deployment.yaml"),
                "--key", ANNOTATION, "--value", stamp)  # fmt: skip
        table.add_row(f"{namespace}/{name}", str(shown["minReplicaCount"]), str(desired), stamp)
    console.print(table)


def numstat(repo: Path) -> dict[str, tuple[int, int]]:
    stats = {}
    for line in git(repo, "diff", "--numstat").splitlines():
        added, removed, path = line.split("\t")
        stats[path] = (int(added), int(removed))
    return stats


def round_trip_lines(repo: Path, stamp: str) -> int:
    """Lines the same edits would change if done by loading and dumping with ruamel.yaml."""
    total = 0
    for namespace, name, replicas, _ in SERVICES:
        for file, edit in (("scaledobject.yaml", "min"), ("deployment.yaml", "annotation")):
            original = git(repo, "show", f"HEAD:apps/{namespace}/{name}/{file}")
            yaml = ruamel.yaml.YAML()
            data = yaml.load(original)
            if edit == "min":
                data["spec"]["minReplicaCount"] = replicas
            else:
                data["spec"]["template"]["metadata"].setdefault("annotations", {})[ANNOTATION] = (
                    stamp
                )
            out = io.StringIO()
            yaml.dump(data, out)
            scratch = repo / ".scratch"
            scratch.write_text(out.getvalue(), newline="")
            original_file = repo / ".original"
            original_file.write_text(original, newline="")
            diff = subprocess.run(
                ["git", "diff", "--no-index", "--numstat", str(original_file), str(scratch)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if diff.stdout:  # "added<TAB>removed<TAB>path"; nothing when identical
                added, removed, _ = diff.stdout.split("\t", 2)
                total += int(added) + int(removed)
            scratch.unlink()
            original_file.unlink()
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the repository and print it")
    args = parser.parse_args()

    started = time.monotonic()
    repo = Path(tempfile.mkdtemp(prefix="envwake-demo-"))
    try:
        console.rule("envwake demo: the manifest engine on a Flux repository")
        console.print(
            "This stage of envwake shows the manifest edits a wake makes; the operator, "
            "GitHub, AWS and cluster parts of the demo land with later issues."
        )
        build_repository(repo)
        files = len(git(repo, "ls-files").splitlines())
        console.print(f"Built a Git repository with {files} manifests in 8 styles: {repo}\n")

        stamp = "2026-11-26T05:30:00+09:00"
        wake(repo, stamp)

        console.rule("git diff")
        console.print(Syntax(git(repo, "diff"), "diff", theme="ansi_dark", word_wrap=False))

        console.rule("envwake plan: when these edits happen")
        config = Path(__file__).parents[2] / "config"
        now, saturday = "2026-11-26T10:00:00+09:00", "2026-11-28T10:00:00+09:00,"
        timeline = envwake(
            "plan", "dev", "--config-dir", str(config), "--now", now, "--wake", saturday
        )
        console.print(timeline, soft_wrap=True, markup=False)
        stats = numstat(repo)
        ours = sum(a + r for a, r in stats.values())
        bad = {
            path: (a, r)
            for path, (a, r) in stats.items()
            if (path.endswith("scaledobject.yaml") and (a, r) not in ((1, 1), (1, 0)))
            or (path.endswith("deployment.yaml") and (a, r) not in ((1, 0), (2, 0)))
        }
        naive = round_trip_lines(repo, stamp)
        console.rule("summary")
        console.print(f"files changed: {len(stats)} of {files}")
        console.print(f"lines changed by envwake: {ours} (added + removed)")
        console.print(f"lines a ruamel.yaml load/dump would change for the same edits: {naive}")
        console.print(f"time taken: {time.monotonic() - started:.1f} s")
        if bad:
            console.print(f"[red]edits changed more than they should: {bad}[/red]")
            return 1
        console.print("[green]every edit changed exactly the lines it had to[/green]")
        return 0
    finally:
        if args.keep:
            console.print(f"kept: {repo}")
        else:
            shutil.rmtree(repo, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
