"""The EnvironmentWake CRD: structural schema, names, printer columns, and samples.

The samples are validated against the CRD's own openAPIV3Schema with the API server's
pruning emulated (an unknown field fails) and ``date-time`` checked. The CEL rule is
evaluated by a real API server in the envtest tier; here its text is pinned and the
operator's own model enforces the same rule.
"""

from datetime import datetime
from pathlib import Path

import jsonschema
import pytest
import ruamel.yaml

from envwake.model.wake import WakeSpec

ROOT = Path(__file__).parents[2]
CRD_PATH = ROOT / "crds" / "environmentwake.yaml"
SAMPLES = sorted((ROOT / "crds" / "samples").glob("*.yaml"))
# Keywords a structural schema may not use (Kubernetes rejects them in CRDs).
FORBIDDEN = {"$ref", "definitions", "dependencies", "patternProperties", "additionalItems",
             "readOnly", "writeOnly", "xml", "id", "deprecated"}  # fmt: skip


def load(path):
    return ruamel.yaml.YAML(typ="safe", pure=True).load(path.read_text())


CRD = load(CRD_PATH)
VERSION = CRD["spec"]["versions"][0]
SCHEMA = VERSION["schema"]["openAPIV3Schema"]


def walk(node, path="openAPIV3Schema"):
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from walk(child, f"{path}.{name}")
    if "items" in node:
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}{{}}")


def test_names_group_and_scope():
    spec = CRD["spec"]
    assert CRD["metadata"]["name"] == "environmentwakes.envwake.dev"
    assert spec["group"] == "envwake.dev"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == "EnvironmentWake"
    assert spec["names"]["plural"] == "environmentwakes"
    assert spec["names"]["shortNames"] == ["ewake"]
    assert spec["names"]["categories"] == ["envwake"]
    assert [v["name"] for v in spec["versions"]] == ["v1alpha1"]
    assert VERSION["served"] is True
    assert VERSION["storage"] is True
    assert VERSION["subresources"] == {"status": {}}


def test_printer_columns():
    columns = [
        (c["name"].upper(), c.get("priority", 0)) for c in VERSION["additionalPrinterColumns"]
    ]
    default = [name for name, priority in columns if priority == 0]
    assert default == ["ENV", "PHASE", "START", "STOP", "NEXT", "AGE"]
    assert ("READY", 1) in columns


def test_printer_column_paths_exist_in_the_schema():
    paths = {path for path, _ in walk(SCHEMA)}
    for column in VERSION["additionalPrinterColumns"]:
        json_path = column["jsonPath"].split("[")[0]
        if json_path.startswith(".metadata"):
            continue
        assert "openAPIV3Schema" + json_path in paths, column


@pytest.mark.parametrize(
    ("path", "node"), list(walk(SCHEMA)), ids=lambda v: v if isinstance(v, str) else ""
)
def test_schema_is_structural(path, node):
    assert "type" in node or node.get("x-kubernetes-int-or-string"), f"{path} has no type"
    assert not FORBIDDEN & node.keys(), f"{path} uses {FORBIDDEN & node.keys()}"
    if node["type"] == "array":
        assert "items" in node, f"{path}: an array needs items"
    if node["type"] == "object" and path != "openAPIV3Schema.metadata":
        assert "properties" in node or "additionalProperties" in node, f"{path}: untyped object"
    for name in node.get("required", []):
        assert name in node.get("properties", {}), f"{path}: requires unknown {name}"


def test_cel_rule_rejects_stop_not_after_start():
    (rule,) = SCHEMA["properties"]["spec"]["x-kubernetes-validations"]
    assert rule["rule"] == "!has(self.startAt) || !has(self.stopAt) || self.stopAt > self.startAt"
    assert rule["message"] == "stopAt must be after startAt"


def pruning(schema):
    """The schema as the API server applies it: unknown fields are not kept."""
    schema = dict(schema)
    if schema.get("type") == "object" and "properties" in schema:
        schema.setdefault("additionalProperties", False)
        schema["properties"] = {k: pruning(v) for k, v in schema["properties"].items()}
    if "items" in schema:
        schema["items"] = pruning(schema["items"])
    return schema


FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def is_rfc3339(value):
    if not isinstance(value, str) or "T" not in value.upper():
        raise ValueError(value)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(value)
    return True


VALIDATOR = jsonschema.Draft7Validator(pruning(SCHEMA), format_checker=FORMATS)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_samples_validate(sample):
    wake = load(sample)
    assert wake["apiVersion"] == "envwake.dev/v1alpha1"
    assert wake["kind"] == "EnvironmentWake"
    assert list(VALIDATOR.iter_errors(wake)) == []
    spec = WakeSpec.model_validate(wake["spec"])
    assert spec.environment == "dev"


BASE = {"apiVersion": "envwake.dev/v1alpha1", "kind": "EnvironmentWake", "metadata": {"name": "w"}}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param({}, "'environment' is a required property", id="no-environment"),
        pytest.param({"environment": "Dev"}, "does not match", id="bad-environment"),
        pytest.param(
            {"environment": "dev", "stopAt": "tomorrow"}, "is not a 'date-time'", id="bad-time"
        ),
        pytest.param(
            {"environment": "dev", "startAt": "2026-11-28T10:00:00"},
            "is not a 'date-time'",
            id="no-offset",
        ),
        pytest.param(
            {"environment": "dev", "owner": "me"},
            "Additional properties are not allowed",
            id="unknown-field",
        ),
        pytest.param({"environment": "dev", "reason": "x" * 501}, "is too long", id="long-reason"),
        pytest.param({"environment": 7}, "is not of type 'string'", id="wrong-type"),
    ],
)
def test_malformed_wakes_are_rejected(spec, message):
    errors = [e.message for e in VALIDATOR.iter_errors({**BASE, "spec": spec})]
    assert any(message in e for e in errors), errors


def test_model_and_crd_agree_on_spec_fields():
    crd_fields = set(SCHEMA["properties"]["spec"]["properties"])
    model_fields = {f.alias for f in WakeSpec.model_fields.values()}
    assert crd_fields == model_fields


def test_model_rejects_stop_not_after_start():
    with pytest.raises(ValueError, match="stopAt must be after startAt"):
        WakeSpec.model_validate(
            {
                "environment": "dev",
                "startAt": "2026-11-28T10:00:00+09:00",
                "stopAt": "2026-11-28T01:00:00Z",
            }
        )
