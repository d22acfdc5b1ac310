"""Parse a multi-document YAML text into node trees, and pick the document to edit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import ruamel.yaml
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from envwake import errors
from envwake.model.problems import yaml_error_message

__all__ = ["Document", "iter_nodes", "mapping_entries", "parse_documents", "select_document"]


@dataclass(frozen=True)
class Document:
    """One YAML document whose root is a mapping, as a node tree with text positions."""

    position: int  # 1-based position among the file's documents, for messages
    root: MappingNode
    kind: str | None
    name: str | None

    def describe(self) -> str:
        what = self.kind or "document"
        return (
            f"{what} {self.name!r} (document {self.position})"
            if self.name
            else (f"{what} (document {self.position})")
        )


def parse_documents(text: str, *, source: str) -> list[Document]:
    """Every document of ``text`` whose root is a mapping, in order.

    ``source`` names the text in messages (usually its file path).
    """
    loader = ruamel.yaml.YAML(typ="safe", pure=True)
    documents: list[Document] = []
    try:
        for position, root in enumerate(loader.compose_all(text), start=1):
            if isinstance(root, MappingNode):
                documents.append(
                    Document(
                        position=position,
                        root=root,
                        kind=_scalar_at(root, ("kind",)),
                        name=_scalar_at(root, ("metadata", "name")),
                    )
                )
    except YAMLError as exc:
        raise errors.ManifestUnreadable(f"{source}: {yaml_error_message(exc)}") from exc
    return documents


def select_document(
    documents: Sequence[Document],
    *,
    source: str,
    kind: str | None,
    name: str | None,
    default_kind: str,
) -> Document:
    """The one document the caller means.

    Without ``name``: the one document of ``kind`` (or ``default_kind``).
    With ``name``: the one document of that name, of ``kind`` when given; when several
    documents share the name and no kind was given, the one of ``default_kind``.
    """
    if name is None:
        wanted = kind or default_kind
        matches = [doc for doc in documents if doc.kind == wanted]
        if not matches:
            raise errors.DocumentNotFound(f"{source}: no {wanted} document")
        if len(matches) > 1:
            names = ", ".join(repr(doc.name) for doc in matches)
            raise errors.DocumentAmbiguous(
                f"{source}: {len(matches)} {wanted} documents ({names}); pick one with --name"
            )
        return matches[0]

    matches = [doc for doc in documents if doc.name == name and kind in (None, doc.kind)]
    if len(matches) > 1 and kind is None:
        matches = [doc for doc in matches if doc.kind == default_kind] or matches
    if not matches:
        what = f"{kind} document" if kind else "document"
        raise errors.DocumentNotFound(f"{source}: no {what} named {name!r}")
    if len(matches) > 1:
        kinds = ", ".join(doc.describe() for doc in matches)
        raise errors.DocumentAmbiguous(
            f"{source}: {len(matches)} documents named {name!r} ({kinds}); pick one with --kind"
        )
    return matches[0]


def mapping_entries(node: MappingNode, key: str) -> list[tuple[ScalarNode, Node]]:
    """The entries of ``node`` whose key is the plain scalar ``key`` (merge keys excluded)."""
    return [
        (k, v)
        for k, v in node.value
        if isinstance(k, ScalarNode) and k.value == key and k.tag != "tag:yaml.org,2002:merge"
    ]


def _scalar_at(root: MappingNode, path: tuple[str, ...]) -> str | None:
    node: Node = root
    for key in path:
        if not isinstance(node, MappingNode):
            return None
        entries = mapping_entries(node, key)
        if len(entries) != 1:
            return None
        node = entries[0][1]
    return node.value if isinstance(node, ScalarNode) else None


def iter_nodes(node: Node) -> Iterator[Node]:
    """Every node below and including ``node``, following aliases (a shared node repeats)."""
    yield node
    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield from iter_nodes(key)
            yield from iter_nodes(value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from iter_nodes(item)
