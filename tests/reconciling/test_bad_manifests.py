"""Manifests in the Flux repository that are missing, malformed or do not match the
config: the wake fails naming the file and the problem, before anything changes (no
cluster started, no schedule held, no branch pushed, no pull request)."""

from __future__ import annotations

import re

import pytest

from .conftest import OTHER_ACCOUNT

API = "apps/shop/api/scaledobject.yaml"
API_DEPLOYMENT = "apps/shop/api/deployment.yaml"


def renamed(text: str) -> str:
    return text.replace("name: api", "name: api-v2", 1)


def twice(text: str) -> str:
    return text + ("" if text.endswith("\n") else "\n") + "---\n" + text


def shared(text: str) -> str:
    text = re.sub(r"minReplicaCount: (\d+)", r"minReplicaCount: &count \1", text, count=1)
    return re.sub(r"maxReplicaCount: \d+", "maxReplicaCount: *count", text, count=1)


def without_cron(text: str) -> str:
    return text.replace("type: cron", "type: cpu")


def wrong_type(text: str) -> str:
    return re.sub(r"minReplicaCount: \d+", "minReplicaCount: [0]", text, count=1)


CASES = {
    "missing": (API, lambda text: None, "ManifestNotFound", API),
    "deployment missing": (API_DEPLOYMENT, lambda text: None, "ManifestNotFound", API_DEPLOYMENT),
    "not YAML": (API, lambda text: text + "\n  : [unclosed\n", "ManifestUnreadable", API),
    "another name": (API, renamed, "DocumentNotFound", "api"),
    "two matching documents": (API, twice, "DocumentAmbiguous", API),
    "field shared by an alias": (API, shared, "FieldShared", API),
    "no cron trigger": (API, without_cron, "FieldValueInvalid", "has no cron trigger"),
    "minReplicaCount not a number": (API, wrong_type, "FieldPathInvalid", "is a sequence"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_bad_manifest_fails_the_wake_before_anything_changes(stack, case):
    path, mangle, reason, named = CASES[case]
    stack.github.service.push_to_base(
        "acme/flux-dev", {path: mangle(stack.base(path))}, f"someone breaks {path}"
    )
    branches = set(stack.repo.store.refs())
    aws_calls = len(stack.aws.actions)
    report = stack.converge([("2026-11-28 10:00", None)], now="2026-11-28 10:00")
    assert report.failure is not None
    assert report.failure.reason == reason, report.failure
    assert not report.failure.transient
    message = str(report.failure)
    assert named in message, message
    assert "\n" not in message
    assert stack.repo.pulls == {}
    assert set(stack.repo.store.refs()) == branches
    changes = [a for a in stack.aws.actions[aws_calls:] if not a.startswith("Describe")]
    assert changes == [], changes  # no cluster started, no schedule held
    assert stack.aws.cluster_status("shop-db") == "stopped"
    assert stack.aws.cluster_status("payments-db", account=OTHER_ACCOUNT) == "stopped"
