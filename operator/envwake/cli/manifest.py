"""``envwake manifest``: edit and read Kubernetes manifests with the smallest diff."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from envwake import errors, manifests
from envwake.cli import files
from envwake.manifests.editing import MAX_REPLICAS

__all__ = ["register"]

_INTEGER = re.compile(r"[+]?[0-9]+\Z")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "manifest",
        help="edit or read a manifest file in place, changing only the lines it must",
        description="Edit or read a manifest file in place, changing only the lines it must.",
    )
    commands = parser.add_subparsers(dest="manifest_command", required=True, metavar="COMMAND")

    replicas = commands.add_parser(
        "set-min-replicas",
        help="set a ScaledObject's minReplicaCount (or another min-replica field)",
    )
    replicas.add_argument("file", type=Path, metavar="FILE")
    replicas.add_argument("--replicas", required=True, metavar="N", help="a whole number >= 0")
    _add_selectors(replicas, default_kind="ScaledObject")
    replicas.add_argument(
        "--field",
        default="spec.minReplicaCount",
        metavar="DOTTED.PATH",
        help="the field to set (default: spec.minReplicaCount)",
    )
    replicas.set_defaults(run=_set_min_replicas)

    unset = commands.add_parser(
        "unset-min-replicas",
        help="remove a ScaledObject's minReplicaCount (KEDA's default, 0, applies)",
    )
    unset.add_argument("file", type=Path, metavar="FILE")
    _add_selectors(unset, default_kind="ScaledObject")
    unset.add_argument(
        "--field",
        default="spec.minReplicaCount",
        metavar="DOTTED.PATH",
        help="the field to remove (default: spec.minReplicaCount)",
    )
    unset.set_defaults(run=_unset_min_replicas)

    annotation = commands.add_parser(
        "set-annotation", help="set a pod-template annotation (makes Flagger roll the pods)"
    )
    annotation.add_argument("file", type=Path, metavar="FILE")
    annotation.add_argument("--key", required=True, metavar="KEY")
    annotation.add_argument("--value", required=True, metavar="VALUE")
    _add_selectors(annotation, default_kind="Deployment")
    annotation.set_defaults(run=_set_annotation)

    show = commands.add_parser(
        "show", help="print a ScaledObject's name, min replicas and cron triggers as JSON"
    )
    show.add_argument("file", type=Path, metavar="FILE")
    _add_selectors(show, default_kind="ScaledObject")
    show.set_defaults(run=_show)


def _add_selectors(parser: argparse.ArgumentParser, *, default_kind: str) -> None:
    parser.add_argument("--name", help="the document whose metadata.name is NAME")
    parser.add_argument(
        "--kind", help=f"the kind of the document to pick (default: {default_kind})"
    )


def _set_min_replicas(args: argparse.Namespace) -> int:
    replicas = _parse_replicas(args.replicas, args.file)
    text = files.read_text(args.file)
    edit = manifests.set_min_replicas(
        text, replicas, source=str(args.file), kind=args.kind, name=args.name, field=args.field
    )
    return _write(args.file, edit)


def _unset_min_replicas(args: argparse.Namespace) -> int:
    text = files.read_text(args.file)
    edit = manifests.remove_min_replicas(
        text, source=str(args.file), kind=args.kind, name=args.name, field=args.field
    )
    return _write(args.file, edit)


def _set_annotation(args: argparse.Namespace) -> int:
    text = files.read_text(args.file)
    edit = manifests.set_pod_template_annotation(
        text, args.key, args.value, source=str(args.file), kind=args.kind, name=args.name
    )
    return _write(args.file, edit)


def _show(args: argparse.Namespace) -> int:
    text = files.read_text(args.file)
    summary = manifests.summarize(text, source=str(args.file), kind=args.kind, name=args.name)
    print(json.dumps(summary.as_json(), ensure_ascii=False, indent=2))
    return 0


def _parse_replicas(raw: str, file: Path) -> int:
    if not _INTEGER.match(raw.strip()):
        raise errors.FieldValueInvalid(
            f"{file}: --replicas must be a whole number from 0 to {MAX_REPLICAS}, got {raw!r}"
        )
    value = int(raw)
    if value > MAX_REPLICAS:
        raise errors.FieldValueInvalid(
            f"{file}: --replicas must be a whole number from 0 to {MAX_REPLICAS}, got {raw!r}"
        )
    return value


def _write(file: Path, edit: manifests.FieldEdit) -> int:
    after = "absent" if edit.after is None else edit.after
    if edit.changed:
        files.write_text_atomically(file, edit.text)
        before = "absent" if edit.before is None else edit.before
        print(f"{file}: {edit.document}: {edit.field}: {before} -> {after}")
    else:
        print(f"{file}: {edit.document}: {edit.field} is already {after}; unchanged")
    return 0
