"""The one error tree of envwake.

Every error envwake raises on purpose derives from ``EnvwakeError``; adapters translate
the exceptions of the libraries they wrap (``raise ... from exc``) at their boundary.
Each leaf carries a CamelCase ``reason`` that becomes the reason of a status condition
and of a Kubernetes event, so a person sees the same word everywhere::

    EnvwakeError
    ├── ManifestError                 a manifest cannot be edited as asked (permanent)
    │   ├── ManifestNotFound          the file does not exist or cannot be read
    │   ├── ManifestUnreadable        not UTF-8, or not valid YAML
    │   ├── DocumentNotFound          no document matches the kind / name asked for
    │   ├── DocumentAmbiguous         several documents match and nothing picks one
    │   ├── FieldPathInvalid          the field path crosses a non-mapping, or ends on one
    │   ├── FieldShared               the field sits in a node shared through a YAML alias
    │   └── FieldValueInvalid         the value to write, or a value read, is not acceptable
    └── WakeInvalid                   a wake asks for something impossible (stop before start)

Messages name what is wrong and where (file, document, dotted path) and never carry a
secret.
"""

from __future__ import annotations

__all__ = [
    "DocumentAmbiguous",
    "DocumentNotFound",
    "EnvwakeError",
    "FieldPathInvalid",
    "FieldShared",
    "FieldValueInvalid",
    "ManifestError",
    "ManifestNotFound",
    "ManifestUnreadable",
    "WakeInvalid",
]


class EnvwakeError(Exception):
    """Base of every error envwake raises on purpose."""

    reason: str = "Error"


class ManifestError(EnvwakeError):
    """A manifest cannot be read or edited as asked; retrying will not help."""

    reason = "ManifestInvalid"


class ManifestNotFound(ManifestError):
    reason = "ManifestNotFound"


class ManifestUnreadable(ManifestError):
    reason = "ManifestUnreadable"


class DocumentNotFound(ManifestError):
    reason = "DocumentNotFound"


class DocumentAmbiguous(ManifestError):
    reason = "DocumentAmbiguous"


class FieldPathInvalid(ManifestError):
    reason = "FieldPathInvalid"


class FieldShared(ManifestError):
    reason = "FieldShared"


class FieldValueInvalid(ManifestError):
    reason = "FieldValueInvalid"


class WakeInvalid(EnvwakeError):
    """A wake asks for something impossible; it is rejected before any side effect."""

    reason = "WakeInvalid"
