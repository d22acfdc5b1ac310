"""The same environment, night after night, on one stack: the second weekend, manifests
that were not at 0, a busy repository, a Flux that applies only the newest head or
cannot apply at all, and working days when the normal schedule does (or does not) wake
the environment by itself."""

from __future__ import annotations

import dataclasses

from envwake.model.environment import FluxSettings, KustomizationRef
from envwake.planning import DesiredState
from envwake.reconciler import Reconciler
from envwake.reconciler.status import wake_status

from .conftest import OTHER_ACCOUNT

API = "apps/shop/api/scaledobject.yaml"
WEB = "apps/shop/web/scaledobject.yaml"
LEDGER = "apps/payments/ledger/scaledobject.yaml"


def reasons(report):
    return [s.reason for s in report.steps]


def merged(stack):
    return [pr for pr in stack.repo.pulls.values() if pr.merged]


def with_kustomization(stack):
    config = stack.environment.config.model_copy(
        update={"flux": FluxSettings(kustomization=KustomizationRef(name="apps"))}
    )
    stack.environment = dataclasses.replace(stack.environment, config=config)
    stack.reconciler = Reconciler(stack.environment, stack.reconciler.adapters)


def weekend(stack, day: str):
    wake = [(f"{day} 10:00", None)]
    awake = stack.converge(wake, now=f"{day} 10:00")
    assert awake.failure is None, awake.failure
    assert awake.awake, awake.not_up
    assert "minReplicaCount: 2" in stack.base(API)
    assert stack.aws.cluster_status("shop-db") == "available"
    night = stack.converge(wake, now=f"{day} 22:00")
    assert night.failure is None, night.failure
    assert night.desired is DesiredState.NORMAL
    assert stack.aws.cluster_status("shop-db") == "stopped"
    assert stack.aws.cluster_status("payments-db", account=OTHER_ACCOUNT) == "stopped"
    return awake, night


def test_the_same_environment_woken_on_consecutive_weekends(stack):
    weekend(stack, "2026-11-28")
    assert len(merged(stack)) == 4  # start: 2 waves, stop: 2 waves
    second, _ = weekend(stack, "2026-12-05")
    # the second weekend's waves have the same content as the first's: they are
    # delivered again all the same, each on a branch of its own
    assert len(merged(stack)) == 8
    assert len({pr.head for pr in merged(stack)}) == 8
    assert [p.state for p in second.pull_requests] == ["merged", "merged"]
    weekend(stack, "2026-12-12")
    assert len(merged(stack)) == 12
    assert set(stack.repo.store.refs()) == {"master"}
    assert all(pr.state == "closed" for pr in stack.repo.pulls.values())
    assert stack.record.originals == {}  # nothing left to remember after each reset


def test_the_reset_puts_back_exactly_what_was_there(stack):
    before = {
        API: stack.base(API).replace("  minReplicaCount: 0\n", ""),  # absent: KEDA's 0
        LEDGER: stack.base(LEDGER).replace("minReplicaCount: 0", "minReplicaCount: 1"),
        WEB: stack.base(WEB),
    }
    assert "minReplicaCount" not in before[API]
    stack.github.service.push_to_base("acme/flux-dev", before, "the team's own settings")
    wake = [("2026-11-28 10:00", None)]
    awake = stack.converge(wake, now="2026-11-28 10:00")
    assert awake.failure is None, awake.failure
    assert stack.record.originals == {"shop/api": None, "shop/web": 0, "payments/ledger": 1}
    assert "minReplicaCount: 2" in stack.base(API)
    assert "minReplicaCount: 3" in stack.base(LEDGER)

    night = stack.converge(wake, now="2026-11-28 22:00")
    assert night.failure is None, night.failure  # the absent one counts as 0 once stopped
    for path, text in before.items():
        assert stack.base(path) == text, path  # byte for byte
    assert stack.record.originals == {}


def test_a_stop_of_a_service_without_min_replica_count_completes(stack):
    text = stack.base(API).replace("  minReplicaCount: 0\n", "")
    stack.github.service.push_to_base("acme/flux-dev", {API: text}, "absent: KEDA's 0")
    wake = [("2026-11-28 10:00", "2026-11-28 12:00")]
    stack.converge(wake, now="2026-11-28 10:00")
    stop = stack.converge(wake, now="2026-11-28 12:00")
    assert stop.desired is DesiredState.ASLEEP
    assert stop.failure is None, stop.failure
    assert stack.base(API) == text  # asleep already as it was: no line added
    assert stack.aws.cluster_status("shop-db") == "stopped"


def test_flux_applying_a_later_commit_counts_as_applying_ours(stack):
    """Someone merges right after envwake: Flux applies the newest head, so envwake's own
    merge commit never shows in lastAppliedRevision, only a descendant of it."""
    with_kustomization(stack)
    theirs: list[str] = []

    def someone_merges_right_after_envwake():  # before Flux next looks
        if merged(stack) and not theirs:
            readme = "# flux-dev\nA team's change, merged right after envwake's.\n"
            theirs.append(
                stack.github.service.push_to_base("acme/flux-dev", {"README.md": readme}, "docs")
            )

    stack.time.world.insert(0, someone_merges_right_after_envwake)
    report = stack.converge([("2026-11-28 10:00", None)], now="2026-11-28 10:00")
    assert report.failure is None, report.failure
    assert report.awake
    first_merge = min(merged(stack), key=lambda pr: pr.number)
    assert first_merge.merge_commit_sha not in stack.flux.applied  # never applied as such
    assert theirs[0] in stack.flux.applied  # its descendant was
    assert len(merged(stack)) == 2


def test_flux_that_cannot_apply_is_reported_at_once_in_its_own_words(stack):
    with_kustomization(stack)
    stack.github.service.push_to_base(
        "acme/flux-dev", {"apps/search/config.yaml": "data: [unclosed\n"}, "a broken manifest"
    )
    merged_at: list[float] = []
    stack.time.world.insert(
        0, lambda: merged_at or not merged(stack) or merged_at.append(stack.time.now)
    )
    report = stack.converge([("2026-11-28 10:00", None)], now="2026-11-28 10:00")
    assert report.failure is not None
    assert report.failure.reason == "FluxFailed"
    assert report.failure.transient
    assert "Flux cannot apply" in str(report.failure)
    # kustomize-controller's words (tests/cluster shows them on the real one)
    assert "failed to decode Kubernetes YAML from" in str(report.failure)
    assert "apps/search/config.yaml: MalformedYAMLError" in str(report.failure)
    waited = stack.time.now - merged_at[0]
    assert waited < stack.reconciler.adapters.sync_timeout / 10, waited  # not its timeout


# -- working days: the normal schedule wakes the environment, or does not ---------------------


def test_a_wake_inside_a_working_day_is_awake_once_seen_awake(stack):
    wake = [("2026-11-25 14:00", "2026-11-25 15:00")]  # a Wednesday afternoon
    report = stack.converge(wake, now="2026-11-25 14:00")
    assert report.failure is None, report.failure
    assert report.desired is DesiredState.NORMAL
    assert report.awake, report.not_up  # the 06:30 schedules and KEDA's cron did it
    assert merged(stack) == []
    status = wake_status(report.plan.wakes[0], report, generation=1)
    assert status["phase"] == "Awake"
    assert status["services"] == {"ready": 3, "total": 3}


def disable_start_schedules(stack):
    for cluster in stack.environment.clusters:
        scheduler = stack.aws.session(cluster.aws_account_id).client(
            "scheduler", endpoint_url=stack.aws.url
        )
        current = scheduler.get_schedule(Name=cluster.start_schedule_name)
        scheduler.update_schedule(
            Name=cluster.start_schedule_name,
            ScheduleExpression=current["ScheduleExpression"],
            ScheduleExpressionTimezone=current["ScheduleExpressionTimezone"],
            FlexibleTimeWindow=current["FlexibleTimeWindow"],
            Target=current["Target"],
            State="DISABLED",
        )


def test_a_normal_schedule_that_did_not_wake_the_environment_is_reported_then_held(stack):
    disable_start_schedules(stack)  # the 06:30 start never happens
    wake = [("2026-11-25 06:35", "2026-11-25 08:00")]
    early = stack.converge(wake, now="2026-11-25 06:35")
    assert early.failure is None, early.failure
    assert not early.awake
    assert early.normal_schedule_late
    assert "cluster shop-db is stopped" in early.not_up
    status = wake_status(early.plan.wakes[0], early, generation=1)
    assert status["phase"] == "Starting"
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "NormalScheduleLate")
    assert "cluster shop-db is stopped" in status["message"]
    assert "envwake holds it itself from Wed 06:45" in status["message"]
    assert merged(stack) == []

    held = stack.converge(wake, now="2026-11-25 06:45")  # the grace is over
    assert held.failure is None, held.failure
    assert held.awake, held.not_up
    assert stack.aws.cluster_status("shop-db") == "available"
    assert "minReplicaCount: 2" in stack.base(API)
    assert wake_status(held.plan.wakes[0], held, generation=1)["phase"] == "Awake"
    assert stack.record.held_since is not None

    still = stack.converge(wake, now="2026-11-25 07:30")  # held, not released and re-held
    assert still.failure is None
    assert not still.steps
    assert "minReplicaCount: 2" in stack.base(API)

    done = stack.converge(wake, now="2026-11-25 08:00")  # the wake ends: all back
    assert done.failure is None, done.failure
    assert "minReplicaCount: 0" in stack.base(API)
    assert stack.record.held_since is None
    assert stack.record.originals == {}
    assert wake_status(done.plan.wakes[0], done, generation=1)["phase"] == "Completed"


def test_the_same_environment_kept_up_past_midnight_three_nights_running(stack):
    """A release that crosses midnight, tested three nights in a row: each night expands
    before KEDA's window closes, stops at 02:00 and resets at 10:00, with the same
    content as the night before."""
    for day, night in (("24", "25"), ("25", "26"), ("26", "27")):
        wake = [(f"2026-11-{day} 21:00", f"2026-11-{night} 02:00")]
        evening = stack.converge(wake, now=f"2026-11-{day} 21:00")
        assert evening.failure is None, evening.failure
        assert evening.awake, evening.not_up  # the working day's normal schedule has it up
        expand = stack.converge(wake, now=f"2026-11-{day} 23:30")
        assert expand.failure is None, expand.failure
        assert expand.awake, expand.not_up
        assert "minReplicaCount: 2" in stack.base(API)
        stop = stack.converge(wake, now=f"2026-11-{night} 02:00")
        assert stop.failure is None, stop.failure
        assert stack.aws.cluster_status("shop-db") == "stopped"
        reset = stack.converge(wake, now=f"2026-11-{night} 10:00")
        assert reset.failure is None, reset.failure
        assert "minReplicaCount: 0" in stack.base(API)
        assert stack.record.originals == {}
    merged = [pr for pr in stack.repo.pulls.values() if pr.merged]
    assert len(merged) == 3 * 3  # each night: the expand in one, the stop in 2 waves
    assert set(stack.repo.store.refs()) == {"master"}


def test_re_verifying_after_a_restart_costs_three_calls_and_one_clone(stack):
    wake = [("2026-11-28 10:00", None)]
    assert stack.converge(wake, now="2026-11-28 10:00").awake
    stack.reconciler = Reconciler(stack.environment, stack.reconciler.adapters)  # a restart
    before = len(stack.github.requests)
    again = stack.converge(wake, now="2026-11-28 10:05")
    assert again.failure is None
    assert again.awake
    assert not again.steps
    made = [(m, p) for m, p, _ in stack.github.requests[before:]]
    api = [(m, p) for m, p in made if ".git/" not in p]
    assert [m for m, _ in api] == ["POST", "GET", "DELETE"], api  # token, our branches, revoke
    assert "/git/matching-refs/heads/envwake/dev/" in api[1][1]
    # one blobless sparse clone: its first fetch (info/refs, then upload-pack twice for
    # the commit and the trees), then one lazy fetch per batch of blobs it reads
    assert made.count(("GET", "/acme/flux-dev.git/info/refs")) <= 3
