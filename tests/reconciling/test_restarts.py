"""The operator stopped in the middle of each step, then started again: the same final
state, exactly one merged pull request per wave, nothing left open, and the reset.

All of envwake's state is outside the process (Git, GitHub, AWS, the cluster), so a
restart is a new Reconciler converging from what it observes."""

from __future__ import annotations

import pytest

from envwake.reconciler import Reconciler

from .conftest import OTHER_ACCOUNT

SATURDAY = [("2026-11-28 10:00", None)]


class Killed(BaseException):
    """The process died (not an envwake error: nothing reports it)."""


def kill_at(reason: str):
    seen = {"done": False}

    def checkpoint(step: str) -> None:
        if step == reason and not seen["done"]:
            seen["done"] = True
            raise Killed(reason)

    return checkpoint


def restart(stack) -> None:
    stack.reconciler.adapters.checkpoint = lambda reason: None
    stack.reconciler = Reconciler(stack.environment, stack.reconciler.adapters)


@pytest.mark.parametrize(
    ("when", "step"),
    [
        pytest.param("2026-11-28 10:00", "ScheduleHeld", id="after-holding-a-schedule"),
        pytest.param("2026-11-28 10:00", "ClusterStarting", id="while-a-cluster-starts"),
        pytest.param("2026-11-28 10:00", "ClusterAvailable", id="after-a-cluster-start"),
        pytest.param("2026-11-28 10:00", "Pushed", id="after-a-push"),
        pytest.param("2026-11-28 10:00", "PullRequestOpened", id="after-a-pr-is-opened"),
        pytest.param("2026-11-28 10:00", "Merged", id="after-a-merge"),
        pytest.param("2026-11-28 10:00", "ServicesReady", id="after-a-wave-is-ready"),
        pytest.param("2026-11-28 22:00", "ClusterStopping", id="during-the-stop"),
        pytest.param("2026-11-28 22:00", "ScheduleRestored", id="during-the-reset"),
    ],
)
def test_restart_in_the_middle_of_a_step_converges_the_same(stack, when, step):
    steps = [("2026-11-28 10:00", "awake"), ("2026-11-28 22:00", "reset")]
    for now, _ in steps:
        if now == when:
            stack.reconciler.adapters.checkpoint = kill_at(step)
            with pytest.raises(Killed):
                stack.converge(SATURDAY, now=now)
            restart(stack)
        report = stack.converge(SATURDAY, now=now)
        assert report.failure is None, report.failure

    repo = stack.repo
    merged = [pr for pr in repo.pulls.values() if pr.merged]
    by_branch = {pr.head for pr in merged}
    assert len(merged) == len(by_branch) == 4  # start: 2 waves; stop: 2 waves; one PR each
    assert all(pr.state == "closed" for pr in repo.pulls.values())
    assert len({pr.head for pr in repo.pulls.values()}) == len(repo.pulls)  # no duplicates
    assert set(repo.store.refs()) == {"master"}  # no leftover branches
    assert "minReplicaCount: 0" in stack.base("apps/shop/api/scaledobject.yaml")
    assert stack.aws.cluster_status("shop-db") == "stopped"
    assert stack.aws.cluster_status("payments-db", account=OTHER_ACCOUNT) == "stopped"
    scheduler = stack.aws.session().client("scheduler", endpoint_url=stack.aws.url)
    assert scheduler.get_schedule(Name="shop-db-stop")["State"] == "ENABLED"  # the reset happened


def test_restart_while_checks_run(stack):
    def kill_while_checks_run():
        open_prs = [pr for pr in stack.repo.pulls.values() if pr.state == "open"]
        if open_prs:
            stack.time.on_sleep.clear()  # once
            raise Killed("checks running")

    stack.time.on_sleep.append(kill_while_checks_run)
    with pytest.raises(Killed):
        stack.converge(SATURDAY, now="2026-11-28 10:00")
    restart(stack)
    for now in ("2026-11-28 10:00", "2026-11-28 22:00"):
        assert stack.converge(SATURDAY, now=now).failure is None
    merged = [pr for pr in stack.repo.pulls.values() if pr.merged]
    assert len(merged) == len({pr.head for pr in merged}) == 4
    assert len(stack.repo.pulls) == 4  # the PR open when it died was adopted, not duplicated
    assert set(stack.repo.store.refs()) == {"master"}
