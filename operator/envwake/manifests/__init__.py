"""Minimal-diff editing and reading of Kubernetes manifests: text in, text out.

Owns: finding a document in a multi-document YAML text, locating a field in it with a
YAML parser, and patching (or cutting) the text at that position so that everything else (comments,
quoting, indentation, sequence style, line endings, BOM, final newline) stays
byte-identical; reading KEDA cron triggers.
Must not: touch files, the network or the clock, or re-serialise a document.
"""

from envwake.manifests.deleting import remove_min_replicas
from envwake.manifests.documents import Document, parse_documents, select_document
from envwake.manifests.editing import (
    FieldEdit,
    set_min_replicas,
    set_pod_template_annotation,
)
from envwake.manifests.keda import CronTrigger, ScaledObjectSummary, summarize

__all__ = [
    "CronTrigger",
    "Document",
    "FieldEdit",
    "ScaledObjectSummary",
    "parse_documents",
    "remove_min_replicas",
    "select_document",
    "set_min_replicas",
    "set_pod_template_annotation",
    "summarize",
]
