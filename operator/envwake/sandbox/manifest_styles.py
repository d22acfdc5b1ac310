"""Generate KEDA ScaledObjects and Deployments written in the styles real repositories use.

Hand-written manifests differ in indentation, sequence style, quoting, comments, line
endings, BOMs and final newlines. The generator writes each of those on purpose, so the
manifest engine's tests, benchmark and demo exercise them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["ManifestStyle", "MinReplicas", "deployment", "scaled_object"]

MinReplicas = Literal["int", "absent", "empty", "null", "quoted"]


@dataclass(frozen=True)
class ManifestStyle:
    indent: int = 2
    compact_sequences: bool = False
    quote: Literal["double", "single", "plain"] = "double"
    comments: bool = False
    japanese_comments: bool = False
    blank_lines: bool = False
    crlf: bool = False
    bom: bool = False
    final_newline: bool = True
    leading_separator: bool = False
    flow_metadata: bool = False
    min_replicas: MinReplicas = "int"
    labels: tuple[tuple[str, str], ...] = ()


class _Writer:
    def __init__(self, style: ManifestStyle) -> None:
        self.style = style
        self.lines: list[str] = []

    def line(self, depth: int, text: str, comment: str = "") -> None:
        suffix = f"  # {comment}" if comment and self.style.comments else ""
        self.lines.append(" " * (depth * self.style.indent) + text + suffix)

    def comment(self, depth: int, english: str, japanese: str) -> None:
        if self.style.comments:
            text = japanese if self.style.japanese_comments else english
            self.lines.append(" " * (depth * self.style.indent) + "# " + text)

    def blank(self) -> None:
        if self.style.blank_lines:
            self.lines.append("")

    def sequence_item(self, depth: int) -> tuple[str, int]:
        """The dash prefix of an item under a key at ``depth``, and its content depth."""
        dash = "-" + " " * (self.style.indent - 1)
        if self.style.compact_sequences:
            return " " * (depth * self.style.indent) + dash, depth + 1
        return " " * ((depth + 1) * self.style.indent) + dash, depth + 2

    def quoted(self, value: str) -> str:
        if self.style.quote == "single":
            return f"'{value}'"
        if self.style.quote == "plain" and not value.isdigit():
            return value
        return f'"{value}"'

    def metadata(self, name: str, namespace: str) -> None:
        if self.style.flow_metadata and not self.style.labels:
            self.line(0, f"metadata: {{name: {name}, namespace: {namespace}}}")
            return
        self.line(0, "metadata:")
        self.line(1, f"name: {name}", "the service")
        self.line(1, f"namespace: {namespace}")
        if self.style.labels:
            self.line(1, "labels:")
            for key, value in self.style.labels:
                self.line(2, f"{key}: {self.quoted(value)}")

    def text(self) -> str:
        newline = "\r\n" if self.style.crlf else "\n"
        body = newline.join(self.lines)
        if self.style.final_newline:
            body += newline
        if self.style.leading_separator:
            body = "---" + newline + body
        return ("\ufeff" if self.style.bom else "") + body


def scaled_object(
    name: str,
    namespace: str,
    *,
    style: ManifestStyle,
    desired_replicas: int = 2,
    start: str = "30 6 * * 1-5",
    end: str = "0 0 * * 2-6",
    timezone: str = "Asia/Tokyo",
    max_replicas: int = 10,
) -> str:
    """A ScaledObject held up by a KEDA cron trigger during working hours."""
    w = _Writer(style)
    w.comment(0, "Scaled to zero at night by KEDA", "夜間は KEDA で 0 台にスケール")
    w.line(0, "apiVersion: keda.sh/v1alpha1")
    w.line(0, "kind: ScaledObject")
    w.metadata(name, namespace)
    w.blank()
    w.line(0, "spec:")
    w.line(1, "scaleTargetRef:")
    w.line(2, f"name: {name}")
    w.comment(1, "minimum replicas: zero outside working hours", "最小レプリカ数：営業時間外は 0")
    min_line = {
        "int": "minReplicaCount: 0",
        "empty": "minReplicaCount:",
        "null": "minReplicaCount: null",
        "quoted": 'minReplicaCount: "0"',
    }
    if style.min_replicas != "absent":
        w.line(1, min_line[style.min_replicas], "raised by envwake")
    w.line(1, f"maxReplicaCount: {max_replicas}")
    w.line(1, "triggers:")
    dash, depth = w.sequence_item(1)
    w.lines.append(dash + "type: cron")
    w.line(depth, "metadata:")
    w.line(depth + 1, f"timezone: {timezone}")
    w.line(depth + 1, f"start: {start}", "working hours begin")
    w.line(depth + 1, f"end: {end}")
    w.line(depth + 1, f"desiredReplicas: {w.quoted(str(desired_replicas))}")
    w.blank()
    return w.text()


def deployment(
    name: str,
    namespace: str,
    *,
    style: ManifestStyle,
    image: str = "registry.example.com/app:1.0.0",
    annotations: tuple[tuple[str, str], ...] = (),
) -> str:
    """A Deployment whose pod template may already carry annotations."""
    w = _Writer(style)
    w.line(0, "apiVersion: apps/v1")
    w.line(0, "kind: Deployment")
    w.metadata(name, namespace)
    w.line(0, "spec:")
    w.line(1, "selector:")
    w.line(2, "matchLabels:")
    w.line(3, f"app: {name}")
    w.line(1, "template:")
    w.line(2, "metadata:")
    if annotations:
        w.line(3, "annotations:")
        for key, value in annotations:
            w.line(4, f"{key}: {w.quoted(value)}")
    w.line(3, "labels:")
    w.line(4, f"app: {name}")
    w.blank()
    w.line(2, "spec:")
    w.line(3, "containers:")
    dash, depth = w.sequence_item(3)
    w.lines.append(dash + f"name: {name}")
    w.line(depth, f"image: {image}")
    w.line(depth, "ports:")
    dash, _ = w.sequence_item(depth)
    w.lines.append(dash + "containerPort: 8080")
    return w.text()
