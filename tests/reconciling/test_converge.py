"""The reconciler converging one environment, step by step, on the whole local stack."""

from __future__ import annotations

import dataclasses

from envwake.model.cluster import Condition
from envwake.model.environment import FluxSettings, KustomizationRef
from envwake.planning import DesiredState
from envwake.reconciler import Reconciler
from envwake.reconciler.status import wake_status

from .conftest import OTHER_ACCOUNT

SATURDAY = [("2026-11-28 10:00", None)]


def reasons(report):
    return [s.reason for s in report.steps]


def test_saturday_wake_holds_then_sleeps_and_resets(stack):
    awake = stack.converge(SATURDAY, now="2026-11-28 10:00")
    assert awake.failure is None, awake.failure
    assert awake.desired is DesiredState.HOLD
    assert reasons(awake)[:6] == [
        "ScheduleHeld",
        "ClusterStarting",
        "ClusterAvailable",
        "ScheduleHeld",
        "ClusterStarting",
        "ClusterAvailable",
    ]
    assert [c.state for c in awake.clusters] == ["available", "available"]
    assert stack.aws.cluster_status("payments-db", account=OTHER_ACCOUNT) == "available"
    # One pull request per wave: shop/api + payments/ledger, then shop/web.
    assert [(p.wave, p.state) for p in awake.pull_requests] == [(2, "merged"), (3, "merged")]
    assert "minReplicaCount: 2" in stack.base("apps/shop/api/scaledobject.yaml")
    assert "minReplicaCount: 3" in stack.base(
        "apps/payments/ledger/scaledobject.yaml"
    )  # configured replicas
    assert 'flagger.app/restartedAt: "2026-11-28T10:00:00+09:00"' in stack.base(
        "apps/shop/api/deployment.yaml"
    )
    assert (awake.services_ready, awake.services_total) == (3, 3)
    assert reasons(awake).count("Merged") == 2
    assert reasons(awake)[-1] == "Awake"

    again = stack.converge(SATURDAY, now="2026-11-28 15:00")
    assert again.failure is None
    assert len(stack.merged_prs()) == 2  # converged: nothing new

    night = stack.converge(SATURDAY, now="2026-11-28 22:00")
    assert night.failure is None, night.failure
    assert night.desired is DesiredState.NORMAL
    assert "Asleep" in reasons(night)
    assert "ScheduleRestored" in reasons(night)
    assert "minReplicaCount: 0" in stack.base("apps/shop/api/scaledobject.yaml")
    assert stack.aws.cluster_status("shop-db") == "stopped"
    assert stack.aws.cluster_status("payments-db", account=OTHER_ACCOUNT) == "stopped"
    # Stop in reverse waves (web first, then api + ledger): two more pull requests.
    assert len(stack.merged_prs()) == 4
    assert all(t.revoked for t in stack.github.state.tokens.values())


def test_wake_past_midnight_expands_before_keda_closes_the_window(stack):
    wake = [("2026-11-25 14:00", "2026-11-26 02:00")]
    afternoon = stack.converge(wake, now="2026-11-25 14:00")
    assert afternoon.desired is DesiredState.NORMAL  # the normal window covers it
    assert stack.merged_prs() == []
    assert afternoon.plan.next_action(afternoon.now).kind.value == "expand"

    expand = stack.converge(wake, now="2026-11-25 23:30")
    assert expand.failure is None, expand.failure
    assert expand.desired is DesiredState.HOLD
    assert {p.action for p in expand.pull_requests} == {"expand"}
    # every service is up by KEDA's cron until 00:00: one pull request, no waves (found by
    # the soak: three waves, a restart and a slow Flux did not finish by 00:00)
    assert len(expand.pull_requests) == 1
    assert 'restartedAt: "2026-11-25T23:30:00+09:00"' in stack.base("apps/shop/api/deployment.yaml")

    stop = stack.converge(wake, now="2026-11-26 02:00")
    assert stop.desired is DesiredState.ASLEEP
    assert stack.aws.cluster_status("shop-db") == "stopped"
    assert "minReplicaCount: 0" in stack.base("apps/shop/web/scaledobject.yaml")
    held = (
        stack.aws.session()
        .client("scheduler", endpoint_url=stack.aws.url)
        .get_schedule(Name="shop-db-stop")
    )
    assert held["State"] == "DISABLED"  # still held until the reset

    reset = stack.converge(wake, now="2026-11-26 10:00")
    assert reset.desired is DesiredState.NORMAL
    assert "ScheduleRestored" in reasons(reset)
    restored = (
        stack.aws.session()
        .client("scheduler", endpoint_url=stack.aws.url)
        .get_schedule(Name="shop-db-stop")
    )
    assert (restored["State"], restored["ScheduleExpression"]) == (
        "ENABLED",
        "cron(0 0 ? * TUE-SAT *)",
    )
    assert len(stack.merged_prs()) == 3  # expand: 1; stop: 2 waves; reset: nothing left


def test_overlapping_wakes_stop_only_when_the_later_one_ends(stack):
    wakes = [("2026-11-28 10:00", "2026-11-28 14:00"), ("2026-11-28 12:00", "2026-11-28 18:00")]
    stack.converge(wakes, now="2026-11-28 10:00")
    two = len(stack.merged_prs())
    still = stack.converge(wakes, now="2026-11-28 14:00")
    assert still.desired is DesiredState.HOLD
    assert len(stack.merged_prs()) == two
    assert stack.aws.cluster_status("shop-db") == "available"
    stop = stack.converge(wakes, now="2026-11-28 18:00")
    assert stop.desired is DesiredState.ASLEEP
    assert stack.aws.cluster_status("shop-db") == "stopped"
    reset = stack.converge(wakes, now="2026-11-28 22:00")
    assert reset.failure is None
    assert [a.kind.value for a in reset.plan.actions].count("reset") == 1


def test_early_start_hands_over_to_the_normal_schedule(stack):
    wake = [("2026-11-26 05:30", None)]
    stack.converge(wake, now="2026-11-26 05:30")
    handed_over = stack.converge(wake, now="2026-11-26 07:00")
    assert handed_over.desired is DesiredState.HOLD  # held until the reset at 10:00
    reset = stack.converge(wake, now="2026-11-26 10:00")
    assert reset.desired is DesiredState.NORMAL
    assert "minReplicaCount: 0" in stack.base("apps/shop/api/scaledobject.yaml")
    # It handed over: the clusters keep running for the working day, on their schedules.
    assert stack.aws.cluster_status("shop-db") == "available"
    assert "Asleep" not in reasons(reset)


def test_failed_check_fails_naming_it_and_merges_nothing(stack):
    stack.repo.ci = [type(stack.repo.ci[0])("build", outcome="failure", seconds=20)]
    report = stack.converge(SATURDAY, now="2026-11-28 10:00")
    assert report.failure is not None
    assert report.failure.reason == "ChecksFailed"
    assert "check build failed" in str(report.failure)
    assert "Merged" not in reasons(report)
    assert stack.merged_prs() == []
    assert "minReplicaCount: 0" in stack.base("apps/shop/api/scaledobject.yaml")


def test_interrupted_converge_resumes_without_duplicates(stack):
    from envwake.sandbox.github import Fault

    # GitHub fails for good in the middle of the second wave...
    stack.github.service.inject(Fault("POST", r"/pulls$", 502, times=1))  # absorbed by retries
    stack.github.service.inject(Fault("GET", r"/commits/.*/check-runs", 500, times=60))
    broken = stack.converge(SATURDAY, now="2026-11-28 10:00")
    assert broken.failure is not None
    assert broken.failure.transient
    stack.github.state.faults.clear()
    # ... and the next reconcile converges to the same result, once.
    fixed = stack.converge(SATURDAY, now="2026-11-28 10:05")
    assert fixed.failure is None, fixed.failure
    merged = stack.merged_prs()
    assert len(merged) == 2
    assert len({pr.head for pr in stack.repo.pulls.values()}) == len(
        stack.repo.pulls
    )  # no duplicates
    assert all(pr.state == "closed" for pr in stack.repo.pulls.values())


# -- status, as the handlers will write it ---------------------------------------------------------


def test_status_through_a_saturday_wake(stack):
    awake = stack.converge(SATURDAY, now="2026-11-28 10:00")
    status = wake_status(awake.plan.wakes[0], awake, generation=1)
    assert status["phase"] == "Awake"
    assert status["effectiveStartAt"] == "2026-11-28T10:00:00+09:00"
    assert status["effectiveStopAt"] == "2026-11-28T22:00:00+09:00"
    assert status["resetAt"] == "2026-11-28T22:00:00+09:00"
    assert status["nextAction"] == {
        "action": "stop",
        "at": "2026-11-28T22:00:00+09:00",
        "description": "stop 2026-11-28 22:00",
    }
    assert [p["state"] for p in status["pullRequests"]] == ["merged", "merged"]
    assert status["services"] == {"ready": 3, "total": 3}
    assert {c["id"]: c.get("account") for c in status["clusters"]} == {
        "shop-db": None,
        "payments-db": OTHER_ACCOUNT,
    }
    conditions = {c["type"]: c for c in status["conditions"]}
    assert (conditions["Ready"]["status"], conditions["Awake"]["status"]) == ("True", "True")
    assert conditions["Failed"]["status"] == "False"
    assert all(c["observedGeneration"] == 1 for c in conditions.values())
    assert status["message"] == "dev is awake until Sat 22:00 (3/3 services ready)"

    later = stack.converge(SATURDAY, now="2026-11-28 15:00")
    again = wake_status(later.plan.wakes[0], later, generation=1, previous=status)
    assert {c["type"]: c["lastTransitionTime"] for c in again["conditions"]} == {
        c["type"]: c["lastTransitionTime"] for c in status["conditions"]
    }  # nothing flipped, nothing moved

    done = stack.converge(SATURDAY, now="2026-11-28 22:00")
    final = wake_status(done.plan.wakes[0], done, generation=1, previous=again)
    assert final["phase"] == "Completed"
    awake_condition = next(c for c in final["conditions"] if c["type"] == "Awake")
    assert awake_condition["status"] == "False"
    assert awake_condition["lastTransitionTime"] == "2026-11-28T13:00:00Z"


def test_status_of_a_failed_check(stack):
    stack.repo.ci = [type(stack.repo.ci[0])("build", outcome="failure", seconds=20)]
    report = stack.converge(SATURDAY, now="2026-11-28 10:00")
    status = wake_status(report.plan.wakes[0], report, generation=2)
    assert status["phase"] == "Failed"
    failed = next(c for c in status["conditions"] if c["type"] == "Failed")
    assert (failed["status"], failed["reason"]) == ("True", "ChecksFailed")
    assert "check build failed" in status["message"]


def with_kustomization(stack):
    config = stack.environment.config.model_copy(
        update={"flux": FluxSettings(kustomization=KustomizationRef(name="apps"))}
    )
    environment = dataclasses.replace(stack.environment, config=config)
    stack.reconciler = Reconciler(environment, stack.reconciler.adapters)


def test_merges_count_once_the_kustomization_applied_them(stack):
    with_kustomization(stack)
    report = stack.converge(SATURDAY, now="2026-11-28 10:00")
    assert report.failure is None, report.failure
    head = stack.repo.store.ref("master")
    assert stack.flux.kustomization("flux-system", "apps").last_applied == f"master@sha1:{head}"


def test_a_stuck_flux_times_out_naming_the_kustomization(stack):
    with_kustomization(stack)
    stack.flux.paused = True
    report = stack.converge(SATURDAY, now="2026-11-28 10:00")
    assert report.failure is not None
    assert report.failure.reason == "SyncTimedOut"
    assert "Kustomization flux-system/apps has not applied" in str(report.failure)
    assert report.failure.transient


def test_keda_refusing_to_scale_a_service_ends_the_wait_in_its_own_words(stack):
    """As the cluster tier shows on the real KEDA (a scaleTargetRef naming no
    Deployment): after keda_grace of KEDA saying so, not at the ready timeout."""
    words = "ScaledObject doesn't have correct scaleTargetRef specification"
    stack.flux.cannot_scale["shop/web"] = Condition("False", "ScaledObjectCheckFailed", words)
    began = stack.time.now
    report = stack.converge(SATURDAY, now="2026-11-28 10:00")
    assert report.failure is not None
    assert report.failure.reason == "ServicesNotReady"
    assert report.failure.transient
    assert f"KEDA cannot scale shop/web (ScaledObjectCheckFailed): {words}" in str(report.failure)
    adapters = stack.reconciler.adapters
    assert stack.time.now - began < adapters.ready_timeout  # the grace, not the timeout
