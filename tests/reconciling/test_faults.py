"""Faults injected into the emulators while the operator wakes an environment: each ends
in the documented state, with a condition that says what happened, and nothing is left
half-done without being reported (on kmock's emulator, which can inject API faults)."""

from __future__ import annotations

import re
import time

import pytest

from envwake.sandbox.aws import AwsFault
from envwake.sandbox.github import CiJob
from envwake.sandbox.github.state import Fault
from envwake.sandbox.kubernetes import KubernetesFault

from .conftest import OTHER_ACCOUNT
from .test_operator import (
    BACKEND,
    current,
    emulated_api,
    operator,
    phase,
    post,
    runtime_for,
    until,
    wake,
)

SATURDAY = "2026-11-28 10:00"
START = {"startAt": "2026-11-28T10:00:00+09:00"}


@pytest.fixture
async def k8s():
    """kmock's emulator: the API that can be made to answer 409 on purpose."""
    async with emulated_api() as api:
        BACKEND["api"] = api
        yield api


def status(k8s, name: str) -> dict:
    return (current(k8s, name) or {}).get("status") or {}


def condition(k8s, name: str, kind: str) -> dict:
    return next((c for c in status(k8s, name).get("conditions") or [] if c["type"] == kind), {})


def all_pulls_merged_or_reported(stack, k8s, name: str) -> None:
    """No pull request is left open unless the wake's status lists it as open."""
    reported = {p["number"]: p["state"] for p in status(k8s, name).get("pullRequests") or []}
    for number, pull in stack.repo.pulls.items():
        if pull.state == "open":
            assert reported.get(number) == "open", (number, reported)


async def wake_up(stack, k8s, name: str, *, expect: str, seconds: float = 60.0) -> None:
    async with operator(runtime_for(stack, SATURDAY)):
        await post(wake(name, **START))
        await until(
            lambda: phase(k8s, name) == expect, seconds=seconds, show=lambda: status(k8s, name)
        )


async def test_a_github_5xx_burst_is_retried_and_the_wake_completes(stack, k8s):
    stack.github.service.inject(Fault("POST", r"/pulls$", 502, times=2))
    stack.github.service.inject(Fault("PUT", r"/merge$", 500, times=1))
    stack.github.service.inject(Fault("GET", r"/check-runs$", 503, times=1))
    await wake_up(stack, k8s, "burst", expect="Awake")
    assert stack.merged_prs()
    assert all(p.state == "closed" for p in stack.repo.pulls.values())
    assert condition(k8s, "burst", "Ready")["status"] == "True"


async def test_a_secondary_rate_limit_is_waited_out_as_github_asks(stack, k8s):
    stack.github.service.inject(
        Fault(
            "POST",
            r"/pulls$",
            403,
            headers={"Retry-After": "7"},
            message="You have exceeded a secondary rate limit.",
        )
    )
    await wake_up(stack, k8s, "secondary", expect="Awake")
    assert 7.0 in stack.time.slept
    assert len({p.head for p in stack.repo.pulls.values()}) == len(stack.repo.pulls)


async def test_an_exhausted_primary_limit_waits_for_its_reset(stack, k8s):
    reset = int(time.time()) + 40
    stack.github.service.inject(
        Fault(
            "GET",
            r"/rules/branches/",
            403,
            message="API rate limit exceeded for installation.",
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        )
    )
    await wake_up(stack, k8s, "primary", expect="Awake")
    assert any(20 <= s <= 45 for s in stack.time.slept), stack.time.slept


async def test_the_base_branch_moving_while_checks_run_is_merged_on_top(stack, k8s):
    path = "apps/shop/api/scaledobject.yaml"

    def someone_edits_the_base_once() -> None:
        if any(p.state == "open" for p in stack.repo.pulls.values()):
            stack.time.on_sleep.remove(someone_edits_the_base_once)
            text = re.sub(r"maxReplicaCount: \d+", "maxReplicaCount: 12", stack.base(path))
            stack.github.service.push_to_base("acme/flux-dev", {path: text}, "someone edits api")

    stack.time.on_sleep.append(someone_edits_the_base_once)
    await wake_up(stack, k8s, "moving", expect="Awake")
    assert someone_edits_the_base_once not in stack.time.on_sleep  # it did move
    merged = stack.base(path)
    assert "maxReplicaCount: 12" in merged  # their change kept
    assert "minReplicaCount: 2" in merged  # ours on top
    assert all(p.state == "closed" for p in stack.repo.pulls.values())


async def test_ci_that_never_finishes_is_reported_and_its_pull_request_kept(stack, k8s):
    stack.repo.ci = [CiJob("build", outcome="hang")]
    async with operator(runtime_for(stack, SATURDAY)):
        await post(wake("hang", **START))
        await until(
            lambda: condition(k8s, "hang", "Synced").get("reason") == "ChecksTimedOut",
            show=lambda: status(k8s, "hang"),
        )
        synced = condition(k8s, "hang", "Synced")
        assert synced["status"] == "False"
        assert "build did not finish" in synced["message"]
        assert status(k8s, "hang")["message"].startswith("will retry:")
        assert phase(k8s, "hang") == "Starting"  # passing: the next attempt adopts the open PR
        all_pulls_merged_or_reported(stack, k8s, "hang")
    assert stack.merged_prs() == []
    assert [p.state for p in stack.repo.pulls.values()] == ["open"]


async def test_an_invalid_cluster_state_while_it_changes_is_retried(stack, k8s):
    stack.aws.inject(
        AwsFault(
            "StartDBCluster",
            "InvalidDBClusterStateFault",
            message="DbCluster shop-db is in stopping state",
        )
    )
    await wake_up(stack, k8s, "state", expect="Awake")
    assert stack.aws.cluster_status("shop-db") == "available"


async def test_a_cluster_aws_refuses_to_start_fails_naming_it(stack, k8s):
    stack.aws.inject(
        AwsFault("StartDBCluster", "InvalidDBClusterStateFault", message="strange", times=10)
    )
    await wake_up(stack, k8s, "refused", expect="Failed")
    failed = condition(k8s, "refused", "Failed")
    assert failed["reason"] == "ClusterCannotChange"
    assert "shop-db" in failed["message"]
    assert "(InvalidDBClusterStateFault: strange)" in failed["message"]
    assert stack.repo.pulls == {}  # no service was woken on a missing database


async def test_access_denied_on_the_other_account_fails_and_reports_what_was_started(stack, k8s):
    stack.aws.inject(
        AwsFault(
            "AssumeRole",
            "AccessDenied",
            status=403,
            message="not authorized to perform sts:AssumeRole",
            times=20,
        )
    )
    await wake_up(stack, k8s, "denied", expect="Failed")
    failed = condition(k8s, "denied", "Failed")
    assert failed["reason"] == "AwsAccessDenied"
    assert f"arn:aws:iam::{OTHER_ACCOUNT}:role/envwake-aurora" in failed["message"]
    assert stack.repo.pulls == {}


async def test_conflicts_on_status_patches_are_retried(stack, k8s):
    fault = KubernetesFault("environmentwakes/status", "patch", status=409, times=3)
    k8s.emulator.inject(fault)
    await wake_up(stack, k8s, "conflict", expect="Awake")
    assert fault.times == 0  # all three were answered 409, and written again
    assert status(k8s, "conflict")["message"].startswith("dev is awake")


async def test_a_progress_write_that_fails_is_made_good_once_at_the_end(stack, k8s):
    """Ten 409s in a row outlast the sink's retries twice: the Starting status and the first
    step's progress write fail; the reconcile's end records that step, once, and the steps
    stay numbered without a gap."""
    k8s.emulator.inject(KubernetesFault("environmentwakes/status", "patch", status=409, times=10))
    await wake_up(stack, k8s, "lossy", expect="Awake")
    steps = status(k8s, "lossy")["steps"]
    assert [s["n"] for s in steps] == list(range(1, len(steps) + 1))
    said = [(s["reason"], s["message"]) for s in steps]
    assert len(said) == len(set(said)), said  # no step twice
    assert ("ScheduleHeld", "holding shop-db-stop so it cannot stop shop-db") in said  # late
    assert {"ClusterAvailable", "Merged", "Awake"} <= {reason for reason, _ in said}
