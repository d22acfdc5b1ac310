"""Remove one field of one document by cutting the text where a YAML parser located it.

The counterpart of inserting a missing key (editing.py): the key's line goes, with its
line break and anything after the value on that line (a comment); in a flow mapping the
entry goes with one separating comma. Everything else stays byte for byte, so removing
a key envwake inserted gives back the text as it was. A key that is absent already is
a no-op. Refused: a key that shares its line with a parent (``- key: v``), the last
key of a block mapping (the mapping would become null), and anything shared through a
YAML anchor.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ruamel.yaml.nodes import MappingNode, ScalarNode

from envwake import errors
from envwake.manifests import documents, scalars
from envwake.manifests.editing import FieldEdit
from envwake.manifests.text import TextEdit, apply_edits, line_start, next_line_start

__all__ = ["remove_field", "remove_min_replicas"]


def remove_min_replicas(
    text: str,
    *,
    source: str,
    kind: str | None = None,
    name: str | None = None,
    field: str = "spec.minReplicaCount",
) -> FieldEdit:
    """Remove the min-replica ``field`` (dotted) of the selected document (KEDA's default,
    0, applies again)."""
    path = tuple(field.split("."))
    if not field or any(not segment for segment in path):
        raise errors.FieldPathInvalid(f"{source}: invalid field path {field!r}")
    return remove_field(
        text, path, source=source, kind=kind, name=name, default_kind="ScaledObject"
    )


def remove_field(
    text: str,
    path: Sequence[str],
    *,
    source: str,
    kind: str | None,
    name: str | None,
    default_kind: str,
) -> FieldEdit:
    """Remove the scalar field at ``path`` (mapping keys from the document root)."""
    document = documents.select_document(
        documents.parse_documents(text, source=source),
        source=source,
        kind=kind,
        name=name,
        default_kind=default_kind,
    )
    where = f"{source}: {document.describe()}"
    dotted = ".".join(path)
    shared = {
        node_id
        for node_id, count in Counter(
            id(node) for node in documents.iter_nodes(document.root)
        ).items()
        if count > 1
    }
    mapping: MappingNode = document.root
    for depth, segment in enumerate(path):
        entries = documents.mapping_entries(mapping, segment)
        here = ".".join(path[: depth + 1])
        if len(entries) > 1:
            raise errors.FieldPathInvalid(f"{where}: {here} is defined more than once")
        if not entries:
            return FieldEdit(text, document.describe(), dotted, None, None, changed=False)
        key, node = entries[0]
        if node.start_mark.index < key.end_mark.index or id(node) in shared:
            raise errors.FieldShared(
                f"{where}: {here} is shared through a YAML anchor/alias; removing it "
                "would change every place that uses it"
            )
        if depth < len(path) - 1:
            if isinstance(node, ScalarNode) and scalars.is_null(node):
                return FieldEdit(text, document.describe(), dotted, None, None, changed=False)
            if not isinstance(node, MappingNode):
                raise errors.FieldPathInvalid(
                    f"{where}: cannot remove {dotted}: {here} is not a mapping"
                )
            mapping = node
            continue
        if not isinstance(node, ScalarNode):
            raise errors.FieldPathInvalid(f"{where}: {here} is not a scalar")
        if id(mapping) in shared:
            raise errors.FieldShared(
                f"{where}: the mapping holding {dotted} is shared through a YAML anchor/alias"
            )
        edit = (
            _flow_cut(text, mapping, key, node)
            if mapping.flow_style
            else _block_cut(text, mapping, key, node, where, here)
        )
        before = text[node.start_mark.index : node.end_mark.index].strip() or None
        return FieldEdit(
            apply_edits(text, [edit]), document.describe(), dotted, before, None, changed=True
        )
    raise AssertionError("unreachable: the path is never empty")


def _block_cut(
    text: str, mapping: MappingNode, key: ScalarNode, value: ScalarNode, where: str, here: str
) -> TextEdit:
    if len(mapping.value) == 1:
        raise errors.FieldPathInvalid(
            f"{where}: {here} is the only key of its mapping; removing it would leave the "
            "mapping null"
        )
    start = line_start(text, key.start_mark.index)
    if text[start : key.start_mark.index].strip(" \t\ufeff"):
        raise errors.FieldPathInvalid(
            f"{where}: {here} shares its line with what holds it; it cannot be removed "
            "without rewriting that line"
        )
    if start < len(text) and text[start] == "\ufeff":
        start += 1  # the BOM belongs to the file, not to the line
    end = next_line_start(text, max(value.end_mark.index - 1, key.end_mark.index))
    if end == len(text) and not text.endswith("\n"):
        # The last line, without a final newline: the break before it goes instead, so
        # the file still ends without one.
        start = max(start - 1, 0)
        if start > 0 and text[start - 1] == "\r":
            start -= 1
    return TextEdit(start, end, "")


def _flow_cut(text: str, mapping: MappingNode, key: ScalarNode, value: ScalarNode) -> TextEdit:
    position = next(i for i, (k, _) in enumerate(mapping.value) if k is key)
    start, end = key.start_mark.index, value.end_mark.index
    if position + 1 < len(mapping.value):  # `key: v, ` up to the next key
        return TextEdit(start, mapping.value[position + 1][0].start_mark.index, "")
    if position > 0:  # the last entry: from the end of the previous value
        previous_end = mapping.value[position - 1][1].end_mark.index
        return TextEdit(previous_end, end, "")
    return TextEdit(start, end, "")
