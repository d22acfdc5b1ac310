"""The sandbox Flux, KEDA and kubelet behave as the real ones do where envwake looks
(research/real-cluster.md): an interval, requestedAt, lag, failures, suspension, and
pods that stay ready while more start."""

from __future__ import annotations

from pathlib import Path

import pytest

from envwake.configdir import load_config_dir
from envwake.sandbox.flux import FluxKeda
from envwake.sandbox.github.gitstore import GitStore
from envwake.sandbox.repository import flux_files

ROOT = Path(__file__).parents[2]
API = "apps/shop/api/scaledobject.yaml"


class Time:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(tmp_path):
    environment = load_config_dir(ROOT / "config")[0]["dev"]
    store = GitStore.create(tmp_path / "flux.git", default_branch="master")
    store.commit_files("master", flux_files(environment), "Initial commit")
    time = Time()
    flux = FluxKeda(environment, store, ready_after=30, clock=time, interval=60.0)
    flux.tick()
    return flux, store, time


def set_min(store: GitStore, value: int) -> str:
    text = store.read_file("master", API)
    lines = [
        f"  minReplicaCount: {value}" if line.strip().startswith("minReplicaCount:") else line
        for line in text.splitlines()
    ]
    return store.commit_files("master", {API: "\n".join(lines) + "\n"}, f"min {value}")


def test_a_merge_is_applied_at_the_next_interval_not_before(world):
    flux, store, time = world
    head = set_min(store, 2)
    time.now += 30
    flux.tick()
    assert flux.applied_commit != head
    time.now += 31
    flux.tick()
    assert flux.applied_commit == head
    assert flux.kustomization("flux-system", "apps").last_applied == f"master@sha1:{head}"


def test_requested_at_applies_at_once_and_only_once_per_value(world):
    flux, store, time = world
    head = set_min(store, 2)
    time.now += 1
    flux.request_reconcile("flux-system", "apps", "first")
    flux.tick()
    assert flux.applied_commit == head
    later = set_min(store, 1)
    time.now += 1
    flux.tick()  # the same value again: nothing asked
    assert flux.applied_commit == head != later


def test_lag_shows_reconciling_then_applies(world):
    flux, store, time = world
    flux.lag = 120.0
    head = set_min(store, 2)
    time.now += 61
    flux.tick()
    assert flux.applied_commit != head
    assert flux.reconciling is not None
    assert flux.reconciling.status == "True"
    time.now += 121
    flux.tick()
    assert flux.applied_commit == head
    assert flux.reconciling is None


def test_a_failing_flux_says_so_keeps_the_last_good_revision_then_recovers(world):
    flux, store, time = world
    good = flux.applied_commit
    flux.fail("kustomize build failed: accumulating resources", stalled=True)
    head = set_min(store, 2)
    time.now += 61
    flux.tick()
    status = flux.kustomization("flux-system", "apps")
    assert status.applied_commit == good
    assert status.attempted_commit == head
    assert status.failure is not None
    assert status.failure.reason == "BuildFailed"
    assert status.stalled is not None
    assert status.stalled.status == "True"
    flux.recover()
    time.now += 61
    flux.tick()
    status = flux.kustomization("flux-system", "apps")
    assert status.applied_commit == head
    assert status.failure is None


def test_a_suspended_flux_applies_nothing(world):
    flux, store, time = world
    flux.suspend()
    head = set_min(store, 2)
    time.now += 600
    flux.tick()
    assert flux.applied_commit != head
    flux.suspend(False)
    flux.tick()
    assert flux.applied_commit == head


def test_pods_ready_stay_ready_while_more_start(world):
    """Found by the soak: a scale-up from 1 to 2 replicas made the one ready pod unready
    for the 30 s the second took (a service with replicas: 1 counted as down at 06:30)."""
    flux, store, time = world
    set_min(store, 1)
    time.now += 61
    flux.tick()
    time.now += 31
    flux.tick()
    assert flux.deployment_ready("shop", "api") == (1, 1)
    set_min(store, 2)
    time.now += 61
    flux.tick()
    assert flux.deployment_ready("shop", "api") == (1, 2)  # the first pod still serves
    time.now += 31
    flux.tick()
    assert flux.deployment_ready("shop", "api") == (2, 2)


def test_a_manifest_that_does_not_parse_fails_the_build_until_it_is_fixed(world):
    flux, store, time = world
    good = flux.applied_commit
    broken = store.commit_files("master", {"wip/draft.yaml": "a: [unclosed\n"}, "wip")
    time.now += 61
    flux.tick()
    status = flux.kustomization("flux-system", "apps")
    assert status.applied_commit == good
    assert status.attempted_commit == broken
    assert status.failure is not None
    assert status.failure.reason == "BuildFailed"
    assert "wip/draft.yaml" in status.failure.message
    head = set_min(store, 2)  # the broken file is still in the tree
    time.now += 61
    flux.tick()
    assert flux.kustomization("flux-system", "apps").applied_commit == good
    fixed = store.commit_files("master", {"wip/draft.yaml": "a: [closed]\n"}, "fix wip")
    time.now += 61
    flux.tick()
    status = flux.kustomization("flux-system", "apps")
    assert status.applied_commit == fixed != head
    assert status.failure is None
    assert flux.scaled_object_min("shop", "api") == 2


def test_an_overlay_renames_what_is_applied_as_kustomize_would(tmp_path):
    """With ``flux.overlay`` the sandbox applies the files under the overlay's names (as
    the real tier's kustomize does, tests/cluster) and answers only there."""
    text = (ROOT / "config" / "stg.yaml").read_text() + (
        "flux:\n  kustomization: {name: apps}\n"
        "  overlay: {namePrefix: stg-, nameSuffix: -v2, namespace: staging}\n"
    )
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "stg.yaml").write_text(text)
    environments, problems = load_config_dir(tmp_path / "config")
    assert not problems
    environment = environments["stg"]
    store = GitStore.create(tmp_path / "flux.git", default_branch="master")
    store.commit_files("master", flux_files(environment), "Initial commit")
    flux = FluxKeda(environment, store, ready_after=0, clock=Time(), interval=0.0)
    flux.tick()
    assert flux.scaled_object_min("staging", "stg-api-v2") == 0
    assert flux.scaled_object_min("shop", "api") is None  # the files' own names
    assert flux.deployment_ready("shop", "api") == (0, 0)


@pytest.mark.parametrize(
    ("overlay", "problem"),
    [
        ("{namePrefix: Dev_}", "cannot be part of a Kubernetes object name"),
        ("{namespace: Not-A-Namespace}", "Kubernetes namespace name"),
        ("{prefix: dev-}", "prefix"),
    ],
)
def test_a_wrong_overlay_is_refused_with_its_place(tmp_path, overlay, problem):
    text = (ROOT / "config" / "stg.yaml").read_text() + f"flux:\n  overlay: {overlay}\n"
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "stg.yaml").write_text(text)
    _, problems = load_config_dir(tmp_path / "config")
    assert len(problems) == 1, problems
    assert "flux.overlay" in str(problems[0])
    assert problem in str(problems[0])
