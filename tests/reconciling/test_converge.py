"""The reconciler converging one environment, step by step, on the whole local stack."""

from __future__ import annotations

from envwake.planning import DesiredState

from .conftest import OTHER_ACCOUNT

SATURDAY = [("2026-11-28 10:00", None)]


def reasons(report):
    return [s.reason for s in report.steps]


def test_saturday_wake_holds_then_sleeps_and_resets(stack):
    awake = stack.converge(SATURDAY, now="2026-11-28 10:00")
    assert awake.failure is None, awake.failure
    assert awake.desired is DesiredState.HOLD
    assert reasons(awake)[:6] == ["ScheduleHeld", "ClusterStarting", "ClusterAvailable",
                                 "ScheduleHeld", "ClusterStarting", "ClusterAvailable"]  # fmt: skip
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
