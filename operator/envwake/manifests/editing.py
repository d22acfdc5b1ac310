"""Set one field of one document by patching the text where a YAML parser located it.

Nothing is re-serialised: an existing scalar is replaced in place (its anchor kept),
a missing key is inserted as new lines after the last line of its mapping, at the
indentation of its siblings, with the file's own line break (or into a flow mapping
before its closing brace). A text that already holds the value is returned unchanged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from envwake import errors
from envwake.manifests import documents, scalars
from envwake.manifests.text import (
    TextEdit,
    apply_edits,
    indent_of,
    line_break_at,
    line_start,
    next_line_start,
)

__all__ = [
    "MAX_REPLICAS",
    "FieldEdit",
    "set_field",
    "set_min_replicas",
    "set_pod_template_annotation",
]

MAX_REPLICAS = 2**31 - 1  # KEDA and Kubernetes replica counts are int32
ANNOTATIONS_PATH = ("spec", "template", "metadata", "annotations")


@dataclass(frozen=True)
class FieldEdit:
    """What setting a field did: the new text, and what it changed, for people."""

    text: str
    document: str
    field: str
    before: str | None  # the value's text in the source; None when the key was absent
    after: str | None  # None when the key is (now) absent
    changed: bool


@dataclass(frozen=True)
class _Value:
    """A value to write: how to render it next to an existing scalar, and when it is there."""

    data: int | str

    def holds(self, node: ScalarNode) -> bool:
        if isinstance(self.data, int):
            return node.tag == scalars.INT_TAG and _as_int(node.value) == self.data
        return node.tag == scalars.STR_TAG and node.value == self.data

    def render(self, existing: ScalarNode | None = None) -> str:
        if isinstance(self.data, int):
            return str(self.data)
        single = existing is not None and existing.style == "'"
        return scalars.render_string(self.data, single_quoted=single)


def set_min_replicas(
    text: str,
    replicas: int,
    *,
    source: str,
    kind: str | None = None,
    name: str | None = None,
    field: str = "spec.minReplicaCount",
) -> FieldEdit:
    """Set the min-replica ``field`` (dotted) of the selected document to ``replicas``."""
    if isinstance(replicas, bool) or not isinstance(replicas, int):
        raise errors.FieldValueInvalid(f"{source}: replicas must be an integer, got {replicas!r}")
    if not 0 <= replicas <= MAX_REPLICAS:
        raise errors.FieldValueInvalid(
            f"{source}: replicas must be between 0 and {MAX_REPLICAS}, got {replicas}"
        )
    path = tuple(field.split("."))
    if not field or any(not segment for segment in path):
        raise errors.FieldPathInvalid(f"{source}: invalid field path {field!r}")
    return set_field(
        text, path, replicas, source=source, kind=kind, name=name, default_kind="ScaledObject"
    )


def set_pod_template_annotation(
    text: str,
    key: str,
    value: str,
    *,
    source: str,
    kind: str | None = None,
    name: str | None = None,
) -> FieldEdit:
    """Set ``spec.template.metadata.annotations[key]`` to the string ``value``."""
    if not key:
        raise errors.FieldValueInvalid(f"{source}: the annotation key is empty")
    return set_field(
        text,
        (*ANNOTATIONS_PATH, key),
        value,
        source=source,
        kind=kind,
        name=name,
        default_kind="Deployment",
    )


def set_field(
    text: str,
    path: Sequence[str],
    data: int | str,
    *,
    source: str,
    kind: str | None,
    name: str | None,
    default_kind: str,
) -> FieldEdit:
    """Set the field at ``path`` (mapping keys from the document root) to ``data``."""
    document = documents.select_document(
        documents.parse_documents(text, source=source),
        source=source,
        kind=kind,
        name=name,
        default_kind=default_kind,
    )
    where = f"{source}: {document.describe()}"
    value = _Value(data)
    edits, before, after = _Editor(text, document, tuple(path), where).edits_for(value)
    return FieldEdit(
        text=apply_edits(text, edits),
        document=document.describe(),
        field=_dotted(path),
        before=before,
        after=after,
        changed=bool(edits),
    )


class _Editor:
    def __init__(self, text: str, document: documents.Document, path: tuple[str, ...], where: str):
        self.text = text
        self.document = document
        self.path = path
        self.where = where
        counts = Counter(id(node) for node in documents.iter_nodes(document.root))
        self.shared = {node_id for node_id, count in counts.items() if count > 1}

    def edits_for(self, value: _Value) -> tuple[list[TextEdit], str | None, str]:
        mapping: MappingNode = self.document.root
        for depth, segment in enumerate(self.path):
            entries = documents.mapping_entries(mapping, segment)
            here = _dotted(self.path[: depth + 1])
            if len(entries) > 1:
                raise errors.FieldPathInvalid(f"{self.where}: {here} is defined more than once")
            if not entries:
                return self._insert_missing(mapping, self.path[depth:], value), None, value.render()
            key, node = entries[0]
            self._refuse_alias(key, node, here)
            last = depth == len(self.path) - 1
            if isinstance(node, MappingNode) and not last:
                mapping = node
                continue
            if isinstance(node, ScalarNode) and (last or scalars.is_null(node)):
                if last:
                    return self._set_scalar(key, node, value)
                rest = self.path[depth + 1 :]
                return self._fill_null(mapping, key, node, rest, value), None, value.render()
            what = _kind_of(node)
            if last:
                raise errors.FieldPathInvalid(f"{self.where}: {here} is a {what}, not a scalar")
            raise errors.FieldPathInvalid(
                f"{self.where}: cannot set {_dotted(self.path)}: {here} is a {what}, not a mapping"
            )
        raise AssertionError("unreachable: the path is never empty")

    def _refuse_alias(self, key: ScalarNode, node: Node, here: str) -> None:
        if node.start_mark.index < key.end_mark.index or id(node) in self.shared:
            raise errors.FieldShared(
                f"{self.where}: {here} is shared through a YAML anchor/alias; editing it "
                "would change every place that uses it"
            )

    # -- existing scalar -----------------------------------------------------------------

    def _set_scalar(
        self, key: ScalarNode, node: ScalarNode, value: _Value
    ) -> tuple[list[TextEdit], str | None, str]:
        if value.holds(node):
            return [], node.value, value.render(node)
        rendered = value.render(node)
        if _is_empty(node):
            at = self._after_properties(self._after_colon(key))
            return [TextEdit(at, at, " " + rendered)], None, rendered
        start, end = node.start_mark.index, node.end_mark.index
        anchors, value_start = self._split_properties(start, end)
        source_text = self.text[value_start:end]
        trailing = source_text[len(source_text.rstrip()) :]  # block scalars own their breaks
        before = source_text.rstrip()
        edit = TextEdit(start, end, anchors + rendered + trailing)
        return [edit], before, rendered

    def _split_properties(self, start: int, end: int) -> tuple[str, int]:
        """Anchors to keep (with their spacing), and where the value proper starts.

        Tags are dropped: the new value's own text says what type it is.
        """
        anchors = ""
        index = start
        while index < end and self.text[index] in "&!":
            token_end = index
            while token_end < end and not self.text[token_end].isspace():
                token_end += 1
            after = token_end
            while after < end and self.text[after] in " \t":
                after += 1
            if self.text[index] == "&":
                spacing = self.text[token_end:after] or " "
                anchors += self.text[index:token_end] + spacing
            index = after
        return anchors, index

    def _after_properties(self, index: int) -> int:
        """Past an anchor or tag that follows a colon on the same line (``key: &a``)."""
        probe = index
        while probe < len(self.text) and self.text[probe] in " \t":
            probe += 1
        while probe < len(self.text) and self.text[probe] in "&!":
            while probe < len(self.text) and not self.text[probe].isspace():
                probe += 1
            index = probe
            while probe < len(self.text) and self.text[probe] in " \t":
                probe += 1
        return index

    def _after_colon(self, key: ScalarNode) -> int:
        index: int = key.end_mark.index
        while index < len(self.text) and self.text[index] in " \t\r\n":
            index += 1
        if index >= len(self.text) or self.text[index] != ":":
            raise errors.FieldPathInvalid(
                f"{self.where}: cannot locate the value of key {key.value!r}"
            )
        return index + 1

    # -- missing keys ----------------------------------------------------------------------

    def _insert_missing(
        self, mapping: MappingNode, rest: tuple[str, ...], value: _Value
    ) -> list[TextEdit]:
        if id(mapping) in self.shared:
            raise errors.FieldShared(
                f"{self.where}: the mapping that would hold {_dotted(self.path)} is shared "
                "through a YAML anchor/alias; editing it would change every place that uses it"
            )
        if mapping.flow_style:
            return [self._insert_into_flow(mapping, rest, value)]
        indent = indent_of(self.text, mapping.value[0][0])
        at, needs_break = self._insertion_point(mapping)
        return [self._block_insert(at, needs_break, indent, rest, value)]

    def _fill_null(
        self,
        parent: MappingNode,
        key: ScalarNode,
        null: ScalarNode,
        rest: tuple[str, ...],
        value: _Value,
    ) -> list[TextEdit]:
        """``key: ~`` (or empty) on the path: make it a mapping holding ``rest``."""
        colon = self._after_colon(key)
        if parent.flow_style:
            nested = " " + _flow(rest, value)
            if _is_empty(null):
                return [TextEdit(colon, colon, nested)]
            return [TextEdit(colon, null.end_mark.index, nested)]
        edits = []
        if not _is_empty(null):
            edits.append(TextEdit(colon, null.end_mark.index, ""))
        at = next_line_start(self.text, colon)
        needs_break = at == len(self.text) and not self.text.endswith("\n")
        indent = indent_of(self.text, key) + self._indent_step()
        edits.append(self._block_insert(at, needs_break, indent, rest, value))
        return edits

    def _block_insert(
        self, at: int, needs_break: bool, indent: int, rest: tuple[str, ...], value: _Value
    ) -> TextEdit:
        newline = line_break_at(self.text, max(at - 1, 0))
        step = self._indent_step()
        lines = []
        for depth, segment in enumerate(rest):
            prefix = " " * (indent + depth * step) + scalars.render_key(segment) + ":"
            lines.append(prefix + (" " + value.render() if depth == len(rest) - 1 else ""))
        body = newline.join(lines)
        return TextEdit(at, at, newline + body if needs_break else body + newline)

    def _insert_into_flow(
        self, mapping: MappingNode, rest: tuple[str, ...], value: _Value
    ) -> TextEdit:
        close = mapping.end_mark.index - 1  # the closing brace
        at = close
        while at > mapping.start_mark.index and self.text[at - 1] in " \t\r\n":
            at -= 1
        entry = _flow(rest, value)
        if not mapping.value:
            return TextEdit(at, at, entry)
        if self.text[at - 1] == ",":
            return TextEdit(at, at, " " + entry)
        return TextEdit(at, at, ", " + entry)

    def _insertion_point(self, mapping: MappingNode) -> tuple[int, bool]:
        """Where new lines for ``mapping`` start, and whether a line break must lead them."""
        end = self._content_end(mapping)
        if end is None:
            # An alias item last in a sequence: its own position is not recorded, so take
            # the last non-blank line before the mapping ends.
            last = len(self.text[: mapping.end_mark.index].rstrip())
            at = next_line_start(self.text, max(last - 1, 0))
        elif end.is_line_start:
            at = end.index
        else:
            at = next_line_start(self.text, end.index)
        if at == len(self.text) and not self.text.endswith("\n"):
            # Appending would have to add a line break to the file's last line, and so
            # change it; going in before the mapping's last key only adds lines.
            last_key = mapping.value[-1][0]
            start = line_start(self.text, last_key.start_mark.index)
            if not self.text[start : last_key.start_mark.index].strip(" \ufeff"):
                return start, False
            return at, True
        return at, False

    def _content_end(self, node: Node, key: ScalarNode | None = None) -> _End | None:
        """Where the last line of content of ``node`` is; None when it cannot be told."""
        if key is not None and node.start_mark.index < key.end_mark.index:
            return _End(self._after_colon(key))  # an alias: it sits right after the key
        if isinstance(node, ScalarNode):
            if key is not None and _is_empty(node):
                return _End(self._after_colon(key))
            if node.style in ("|", ">"):
                header_end = self.text.find("\n", node.start_mark.index)
                if "+" in self.text[node.start_mark.index : header_end]:
                    # Keep chomping: the trailing blank lines are content, so new lines go
                    # after them, where the scalar ends (at a line start).
                    return _End(node.end_mark.index, is_line_start=True)
                return _End(len(self.text[: node.end_mark.index].rstrip()) - 1)
            return _End(max(node.end_mark.index - 1, node.start_mark.index))
        if isinstance(node, MappingNode | SequenceNode) and (node.flow_style or not node.value):
            return _End(node.end_mark.index - 1)
        if isinstance(node, MappingNode):
            last_key, last_value = node.value[-1]
            return self._content_end(last_value, last_key)
        if isinstance(node, SequenceNode):
            item = node.value[-1]
            if item.start_mark.index < node.start_mark.index:
                return None  # an alias item: its own position is not recorded
            return self._content_end(item)
        return None

    def _indent_step(self) -> int:
        """The document's indentation step: how far a nested mapping's keys sit in."""
        for node in documents.iter_nodes(self.document.root):
            if not isinstance(node, MappingNode) or node.flow_style:
                continue
            for key, value in node.value:
                if isinstance(value, MappingNode) and not value.flow_style and value.value:
                    child = value.value[0][0]
                    if child.start_mark.line > key.start_mark.line:
                        step = indent_of(self.text, child) - indent_of(self.text, key)
                        if step > 0:
                            return step
        return 2


@dataclass(frozen=True)
class _End:
    index: int
    is_line_start: bool = False


def _flow(rest: tuple[str, ...], value: _Value) -> str:
    text = value.render()
    for segment in reversed(rest[1:]):
        text = "{" + scalars.render_key(segment) + ": " + text + "}"
    return scalars.render_key(rest[0]) + ": " + text


def _is_empty(node: ScalarNode) -> bool:
    return scalars.is_null(node) and node.value == "" and node.style is None


def _as_int(text: str) -> int | None:
    try:
        return int(text.replace("_", ""), 0)
    except ValueError:
        return None


def _kind_of(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "mapping"
    if isinstance(node, SequenceNode):
        return "sequence"
    return "scalar"


def _dotted(path: Sequence[str]) -> str:
    return ".".join(path)
