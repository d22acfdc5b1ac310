"""The CRD on a real kube-apiserver: it installs, its printer columns, its CEL rule, the
samples and the server's own refusals (the emulator checks none of these)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[2]
WAKES = "/apis/envwake.dev/v1alpha1/namespaces/{namespace}/environmentwakes"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


NAMESPACES = itertools.count(1)


@pytest.fixture
def namespace(real_api_server):
    name = f"crd-{next(NAMESPACES)}"
    real_api_server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    # no namespace controller here: delete what the test made, or an operator test later
    # in the session would see these wakes as wanting dev awake
    code, answer = real_api_server.request("DELETE", WAKES.format(namespace=name))
    assert code == 200, answer


def wake(name: str, **spec) -> dict:
    return {
        "apiVersion": "envwake.dev/v1alpha1",
        "kind": "EnvironmentWake",
        "metadata": {"name": name},
        "spec": {"environment": "dev", **spec},
    }


def create(server, namespace: str, body: dict) -> tuple[int, dict]:
    return server.request("POST", WAKES.format(namespace=namespace), body)


def test_the_crd_is_established_with_the_short_name_and_category(real_api_server):
    status, crd = real_api_server.request(
        "GET",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/environmentwakes.envwake.dev",
    )
    assert status == 200
    names = crd["status"]["acceptedNames"]
    assert names["shortNames"] == ["ewake"]
    assert "envwake" in names["categories"]


def test_kubectl_get_shows_the_printer_columns(real_api_server, namespace):
    sample = yaml.safe_load((ROOT / "crds" / "samples" / "with-status.yaml").read_text())
    status = sample.pop("status")
    sample["metadata"]["namespace"] = namespace
    assert create(real_api_server, namespace, sample)[0] == 201
    path = f"{WAKES.format(namespace=namespace)}/{sample['metadata']['name']}/status"
    code, _ = real_api_server.request(
        "PATCH", path, {"status": status}, content_type="application/merge-patch+json"
    )
    assert code == 200
    code, table = real_api_server.request("GET", WAKES.format(namespace=namespace), accept=TABLE)
    assert code == 200
    assert table["kind"] == "Table"
    columns = [(c["name"], c.get("priority", 0)) for c in table["columnDefinitions"]]
    assert columns == [
        ("Name", 0),
        ("Env", 0),
        ("Phase", 0),
        ("Start", 0),
        ("Stop", 0),
        ("Next", 0),
        ("Ready", 1),
        ("Age", 0),
    ]
    [row] = table["rows"]
    assert row["cells"][:7] == [
        "night-release-in-progress",
        "dev",
        "Extending",
        "2026-11-25T14:00:00+09:00",
        "2026-11-26T02:00:00+09:00",
        "stop 2026-11-26 02:00",
        "False",
    ]


@pytest.mark.parametrize(
    ("start", "stop"),
    [
        ("2026-11-28T10:00:00+09:00", "2026-11-28T10:00:00+09:00"),  # equal
        ("2026-11-28T10:00:00+09:00", "2026-11-28T09:00:00+09:00"),  # before
        ("2026-11-28T10:00:00+09:00", "2026-11-28T00:30:00Z"),  # 09:30 in Tokyo
    ],
)
def test_cel_refuses_a_stop_not_after_the_start(real_api_server, namespace, start, stop):
    code, answer = create(real_api_server, namespace, wake("bad", startAt=start, stopAt=stop))
    assert code == 422, answer
    assert "spec.stopAt" in answer["message"]
    assert "stopAt must be after startAt" in answer["message"]


def test_cel_compares_instants_not_text(real_api_server, namespace):
    # 01:30Z is 10:30 in Tokyo: after the start, though "01" sorts before "10" as text
    body = wake("offsets", startAt="2026-11-28T10:00:00+09:00", stopAt="2026-11-28T01:30:00Z")
    code, answer = create(real_api_server, namespace, body)
    assert code == 201, answer


@pytest.mark.parametrize("path", sorted((ROOT / "crds" / "samples").glob("*.yaml")), ids=str)
def test_every_sample_is_accepted(real_api_server, namespace, path):
    sample = yaml.safe_load(path.read_text())
    sample.pop("status", None)
    sample["metadata"]["namespace"] = namespace
    code, answer = create(real_api_server, namespace, sample)
    assert code == 201, answer


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"startAt": "2026-11-28T10:00:00+09:00"}, "spec.environment: Required value"),
        ({"environment": "dev", "startAt": "tomorrow"}, "spec.startAt"),
        ({"environment": "dev", "reason": "x" * 501}, "spec.reason: Too long"),
        ({"environment": 7}, "spec.environment: Invalid value"),
    ],
)
def test_a_malformed_wake_is_refused_with_the_servers_message(
    real_api_server, namespace, spec, expected
):
    body = {
        "apiVersion": "envwake.dev/v1alpha1",
        "kind": "EnvironmentWake",
        "metadata": {"name": "malformed"},
        "spec": spec,
    }
    code, answer = create(real_api_server, namespace, body)
    assert code == 422, answer
    assert expected in answer["message"], answer["message"]
