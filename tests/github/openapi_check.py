"""Validate the emulator's JSON responses against GitHub's OpenAPI description."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC = json.loads((Path(__file__).parent / "openapi" / "github-subset.json").read_text())


def _patch_nullable_enums(node: Any) -> None:
    # The description marks 71 enums nullable without listing null (a known defect).
    if isinstance(node, dict):
        if node.get("nullable") and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        for value in node.values():
            _patch_nullable_enums(value)
    elif isinstance(node, list):
        for value in node:
            _patch_nullable_enums(value)


_patch_nullable_enums(SPEC)
REGISTRY = Registry().with_resource(
    "spec", Resource.from_contents(SPEC, default_specification=DRAFT4)
)


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


OPERATIONS = {
    (method, _shape(path)): operation
    for path, item in SPEC["paths"].items()
    for method, operation in item.items()
}


def violations(method: str, route: str, status: int, body: Any) -> list[str]:
    """Schema violations of one response; an undocumented status is one too."""
    operation = OPERATIONS.get((method, _shape(route)))
    if operation is None:
        return []  # not a GitHub REST operation (git smart HTTP, GraphQL)
    response = operation["responses"].get(str(status))
    if response is None:
        return [f"{method.upper()} {route}: status {status} is not documented"]
    if "$ref" in response:
        response = SPEC["components"]["responses"][response["$ref"].split("/")[-1]]
    content = response.get("content", {}).get("application/json")
    if content is None:
        return []
    schema = {**content["schema"], "components": SPEC["components"]}
    schema = json.loads(json.dumps(schema).replace('"#/components/', '"spec#/components/'))
    validator = OAS30Validator(schema, registry=REGISTRY)
    where = f"{method.upper()} {route} {status}"
    return [
        f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in validator.iter_errors(body)
    ]
