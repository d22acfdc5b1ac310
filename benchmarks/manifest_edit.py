"""Minimal-diff editing vs a plain ruamel.yaml round trip, on 1,000 generated manifests.

Each manifest is a KEDA ScaledObject (half of them followed by a Deployment in the same
file), written in a random mix of the styles real repositories use: 2- or 4-space
indentation, compact or indented sequences, quoting, comments (some Japanese), blank
lines, CRLF, a BOM, a missing final newline, a leading ``---``. The edit is what a wake
does: raise ``spec.minReplicaCount`` to the cron trigger's ``desiredReplicas``.

For both approaches it prints the lines changed per edit (added + removed, as ``git diff
--numstat`` counts them), how many files changed anything beyond the one intended line,
whether the result still parses to the intended data, and edits per second (in memory;
file I/O excluded for both).

    .venv/bin/python benchmarks/manifest_edit.py [--count N] [--seed S]
"""

from __future__ import annotations

import argparse
import difflib
import io
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ruamel.yaml

from envwake import manifests
from envwake.sandbox.manifest_styles import ManifestStyle, deployment, scaled_object


def generate(count: int, seed: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    corpus = []
    for index in range(count):
        crlf = rng.random() < 0.2
        style = ManifestStyle(
            indent=rng.choice([2, 2, 4]),
            compact_sequences=rng.random() < 0.5,
            quote=rng.choice(["double", "single", "plain"]),
            comments=rng.random() < 0.6,
            japanese_comments=rng.random() < 0.3,
            blank_lines=rng.random() < 0.3,
            crlf=crlf,
            bom=rng.random() < 0.05,
            final_newline=rng.random() < 0.9,
            leading_separator=rng.random() < 0.3,
            flow_metadata=rng.random() < 0.1,
            min_replicas=rng.choice(["int", "int", "int", "absent", "empty", "null"]),
            labels=(("team", f"team-{index % 7}"),) if rng.random() < 0.5 else (),
        )
        desired = rng.randint(1, 5)
        text = scaled_object(f"svc-{index}", "dev", style=style, desired_replicas=desired)
        if rng.random() < 0.5:
            newline = "\r\n" if crlf else "\n"
            if not text.endswith(newline):
                text += newline
            other = ManifestStyle(crlf=crlf, compact_sequences=rng.random() < 0.5)
            text += "---" + newline + deployment(f"svc-{index}", "dev", style=other)
        corpus.append((text, desired))
    return corpus


def ours(text: str, replicas: int) -> str:
    return manifests.set_min_replicas(text, replicas, source="bench.yaml").text


def ruamel_round_trip(text: str, replicas: int) -> str:
    yaml = ruamel.yaml.YAML()  # round-trip mode, default settings
    documents = list(yaml.load_all(text))
    for document in documents:
        if isinstance(document, dict) and document.get("kind") == "ScaledObject":
            document["spec"]["minReplicaCount"] = replicas
    out = io.StringIO()
    yaml.dump_all(documents, out)
    return out.getvalue()


def lines_changed(before: str, after: str) -> int:
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    return sum(
        (i2 - i1) + (j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    )


def intended_data(text: str, replicas: int) -> list[Any]:
    documents = [d for d in ruamel.yaml.YAML(typ="safe").load_all(text) if d is not None]
    for document in documents:
        if document.get("kind") == "ScaledObject":
            document["spec"]["minReplicaCount"] = replicas
    return documents


@dataclass
class Result:
    name: str
    changed: list[int]
    collateral: int  # files with more than the one intended line added and one removed
    correct: int
    seconds: float


def measure(name: str, edit: Callable[[str, int], str], corpus: list[tuple[str, int]]) -> Result:
    started = time.perf_counter()
    outputs = [edit(text, replicas) for text, replicas in corpus]
    seconds = time.perf_counter() - started
    changed, collateral, correct = [], 0, 0
    for (text, replicas), output in zip(corpus, outputs, strict=True):
        count = lines_changed(text, output)
        changed.append(count)
        collateral += count > 2
        safe = ruamel.yaml.YAML(typ="safe")
        correct += [d for d in safe.load_all(output) if d is not None] == intended_data(
            text, replicas
        )
    return Result(name, changed, collateral, correct, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    corpus = generate(args.count, args.seed)
    total_lines = sum(len(text.splitlines()) for text, _ in corpus)
    print(f"{len(corpus)} manifests, {total_lines} lines, seed {args.seed}\n")
    results = [
        measure("envwake (locate + patch)", ours, corpus),
        measure("ruamel.yaml round trip", ruamel_round_trip, corpus),
    ]
    header = (
        f"{'approach':<26} {'lines/edit mean':>15} {'median':>7} {'max':>5} "
        f"{'files w/ collateral':>20} {'data correct':>13} {'edits/s':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        mean, median = statistics.mean(r.changed), statistics.median(r.changed)
        print(
            f"{r.name:<26} {mean:>15.2f} {median:>7.0f} {max(r.changed):>5} "
            f"{r.collateral:>14}/{len(corpus):<5} "
            f"{r.correct:>7}/{len(corpus):<5} {len(corpus) / r.seconds:>9.0f}"
        )
    print(
        "\nlines/edit counts added + removed lines (a replaced line counts 2, an inserted one 1);"
        "\nfiles w/ collateral: files where more changed than the one intended line."
    )


if __name__ == "__main__":
    main()
