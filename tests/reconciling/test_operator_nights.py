"""The operator on one stack, as it lives for weeks: the same environment woken again,
wakes deleted while it was down, a bad wake among good ones, old wakes that must keep
their final word, and restarts that must not repeat what was said."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest

from envwake.sandbox.github import CiJob

from .conftest import OTHER_ACCOUNT
from .test_operator import (
    BACKEND,
    current,
    delete,
    emulated_api,
    events,
    operator,
    phase,
    post,
    runtime_for,
    until,
    wake,
)

API = "apps/shop/api/scaledobject.yaml"
LEDGER = "apps/payments/ledger/scaledobject.yaml"


@pytest.fixture
async def k8s():
    """kmock's emulator (the real API server runs the same harness in test_operator)."""
    async with emulated_api() as api:
        BACKEND["api"] = api
        yield api


def status(k8s, name: str) -> dict:
    return (current(k8s, name) or {}).get("status") or {}


async def at(runtime, now: str, stack=None) -> None:
    """Move the operator's clock (and the world's, when given the stack) to ``now`` and
    let the operator act."""
    from .conftest import at as local

    target = local(now)
    runtime.clock.origin += target - runtime.clock.now()
    if stack is not None:
        stack.origin, stack.mark = target, stack.time.now
    await runtime.poke("dev")


async def test_the_same_environment_woken_on_two_saturdays(stack, k8s):
    runtime = runtime_for(stack, "2026-11-28 10:00")
    async with operator(runtime):
        for day in ("2026-11-28", "2026-12-05"):
            name = f"saturday-{day[-2:]}"
            await at(runtime, f"{day} 10:00", stack)
            await post(wake(name, startAt=f"{day}T10:00:00+09:00"))
            await until(lambda n=name: phase(k8s, n) == "Awake", show=lambda: runtime.reports)
            assert "minReplicaCount: 2" in stack.base(API)
            await at(runtime, f"{day} 21:30", stack)
            if name != "saturday-28":
                assert phase(k8s, "saturday-28") == "Completed"  # its final word, all week
            await at(runtime, f"{day} 22:00", stack)
            await until(lambda n=name: phase(k8s, n) == "Completed")
            assert "minReplicaCount: 0" in stack.base(API)
            assert stack.aws.cluster_status("shop-db") == "stopped"
        # a week after it finished (22:00 + 7 days), last week's wake is deleted
        await until(lambda: current(k8s, "saturday-28") is None)
        assert phase(k8s, "saturday-05") == "Completed"
    merged = [pr for pr in stack.repo.pulls.values() if pr.merged]
    assert len(merged) == 8  # each Saturday: 2 waves up, 2 waves down


async def test_the_reset_puts_back_what_was_there_not_zero(stack, k8s):
    stack.github.service.push_to_base(
        "acme/flux-dev",
        {
            LEDGER: stack.base(LEDGER).replace("minReplicaCount: 0", "minReplicaCount: 1"),
            API: stack.base(API).replace("  minReplicaCount: 0\n", ""),  # KEDA's 0
        },
        "the payments team keeps one ledger up; api relies on KEDA's default",
    )
    before = {path: stack.base(path) for path in (LEDGER, API)}
    runtime = runtime_for(stack, "2026-11-28 10:00")
    async with operator(runtime):
        await post(wake("sat", startAt="2026-11-28T10:00:00+09:00"))
        await until(lambda: phase(k8s, "sat") == "Awake")
        assert "minReplicaCount: 3" in stack.base(LEDGER)
        await at(runtime, "2026-11-28 22:00")
        await until(lambda: phase(k8s, "sat") == "Completed")  # the absent one stopped too
    assert {path: stack.base(path) for path in (LEDGER, API)} == before


async def test_a_wake_deleted_while_the_operator_was_down_is_put_to_sleep_first(stack, k8s):
    runtime = runtime_for(stack, "2026-11-28 10:00")
    async with operator(runtime):
        await post(wake("gone", startAt="2026-11-28T10:00:00+09:00"))
        await until(lambda: phase(k8s, "gone") == "Awake")
    await delete("gone")  # the finalizer keeps it while nobody is there
    assert current(k8s, "gone") is not None
    assert stack.aws.cluster_status("shop-db") == "available"
    async with operator(runtime_for(stack, "2026-11-28 12:00")):
        await until(lambda: current(k8s, "gone") is None, seconds=90)
    assert stack.aws.cluster_status("shop-db") == "stopped"
    assert stack.aws.cluster_status("payments-db", account=OTHER_ACCOUNT) == "stopped"
    assert "minReplicaCount: 0" in stack.base(API)
    scheduler = stack.aws.session().client("scheduler", endpoint_url=stack.aws.url)
    assert scheduler.get_schedule(Name="shop-db-stop")["State"] == "ENABLED"


async def test_a_deletion_whose_stop_breaks_unexpectedly_keeps_the_finalizer(stack, k8s):
    """A library's exception in the middle of the stop: the deletion must not be reported
    done on the strength of an older, successful reconcile."""
    runtime = runtime_for(stack, "2026-11-28 10:00")
    runtime.retry_after = 0.5
    async with operator(runtime):
        await post(wake("brittle", startAt="2026-11-28T10:00:00+09:00"))
        await until(lambda: phase(k8s, "brittle") == "Awake")
        cluster = stack.reconciler.adapters.cluster
        broken = {"on": True}

        class Breaking:
            def __getattr__(self, name):
                if broken["on"]:
                    raise ConnectionResetError("the cluster's API went away")
                return getattr(cluster, name)

        stack.reconciler.adapters.cluster = Breaking()
        runtime.clock.origin += timedelta(hours=2)
        await delete("brittle")
        await asyncio.sleep(1.5)  # three retries, all of them broken
        assert current(k8s, "brittle") is not None  # the finalizer holds it
        assert stack.aws.cluster_status("shop-db") == "available"
        broken["on"] = False
        await until(lambda: current(k8s, "brittle") is None, seconds=90)
    assert stack.aws.cluster_status("shop-db") == "stopped"


async def test_one_bad_wake_does_not_block_its_environment(stack, k8s):
    runtime = runtime_for(stack, "2026-11-28 10:00")
    async with operator(runtime):
        # passes the model and the CEL rule (no startAt), yet stops before it was created
        await post(wake("backwards", stopAt="2020-01-01T00:00:00+09:00"))
        await post(wake("good", startAt="2026-11-28T10:00:00+09:00"))
        await until(lambda: phase(k8s, "good") == "Awake", show=lambda: runtime.reports)
        await until(lambda: phase(k8s, "backwards") == "Failed")
    failed = next(c for c in status(k8s, "backwards")["conditions"] if c["type"] == "Ready")
    assert failed["reason"] == "WakeInvalid"
    assert "spec.stopAt" in failed["message"]


async def test_a_finished_wake_keeps_its_final_status(stack, k8s):
    runtime = runtime_for(stack, "2026-11-28 10:00")
    async with operator(runtime):
        await post(wake("last-week", startAt="2026-11-28T10:00:00+09:00"))
        await until(lambda: phase(k8s, "last-week") == "Awake")
        await at(runtime, "2026-11-28 22:00")
        await until(lambda: phase(k8s, "last-week") == "Completed")
        final = status(k8s, "last-week")
        told = list(events(k8s, "last-week"))
        # a week later CI is red: today's wake fails, last week's stays as it ended
        stack.repo.ci = [CiJob("build", outcome="failure", seconds=20)]
        await at(runtime, "2026-12-05 10:00", stack)
        await post(wake("today", startAt="2026-12-05T10:00:00+09:00"))
        await until(lambda: phase(k8s, "today") == "Failed")
        await at(runtime, "2026-12-05 10:30")
    assert status(k8s, "last-week") == final
    assert events(k8s, "last-week") == told


async def test_reconciles_that_change_nothing_say_nothing(stack, k8s):
    runtime = runtime_for(stack, "2026-11-28 10:00")
    async with operator(runtime):
        await post(wake("quiet", startAt="2026-11-28T10:00:00+09:00"))
        await until(lambda: phase(k8s, "quiet") == "Awake")
        await until(lambda: "Awake" in [r for _, r in events(k8s, "quiet")])
        told, steps = list(events(k8s, "quiet")), status(k8s, "quiet")["steps"]
        for now in ("2026-11-28 11:00", "2026-11-28 12:00"):
            await at(runtime, now)
    async with operator(runtime_for(stack, "2026-11-28 13:00")):  # a restart
        await asyncio.sleep(1.5)
        await until(lambda: phase(k8s, "quiet") == "Awake")
    assert events(k8s, "quiet") == told
    assert status(k8s, "quiet")["steps"] == steps


@contextlib.asynccontextmanager
async def watching(runtime, namespaces: list[str]):
    """The operator as ``envwake run --namespace A --namespace B`` runs it."""
    import kopf

    from envwake.localstack import _NotKopf

    from .test_operator import REGISTRY

    settings = kopf.OperatorSettings()
    settings.watching.inactivity_timeout = 3600
    stop, ready = asyncio.Event(), asyncio.Event()
    tasks = await kopf.spawn_tasks(
        namespaces=namespaces,
        standalone=True,
        registry=REGISTRY,
        settings=settings,
        memo=kopf.Memo(runtime=runtime, namespaces=namespaces),
        stop_flag=stop,
        ready_flag=ready,
    )
    task = asyncio.create_task(kopf.run_tasks(tasks, ignored=_NotKopf()))
    await ready.wait()
    try:
        yield
    finally:
        stop.set()
        await task


async def test_no_reconcile_before_every_watched_namespace_is_listed(stack, k8s):
    """Two namespaces watched, one listing slow: a reconcile that knew only the other
    namespace's (future) wake would reset the environment under the active one."""
    from envwake.sandbox.kubernetes import KubernetesFault

    runtime = runtime_for(stack, "2026-11-28 10:00")
    path = "/apis/envwake.dev/v1alpha1/namespaces/{}/environmentwakes"
    for namespace in ("team-a", "team-b"):  # Kopf watches the namespaces that exist
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        assert await k8s.call("POST", "/api/v1/namespaces", body) == 201
    active = {**wake("active", startAt="2026-11-28T10:00:00+09:00")}
    active["metadata"] = {"name": "active", "namespace": "team-b"}
    async with watching(runtime, ["team-a", "team-b"]):
        assert await k8s.call("POST", path.format("team-b"), active) == 201
        await until(lambda: phase_in(k8s, "team-b", "active") == "Awake")
    raised = stack.base(API)
    assert "minReplicaCount: 2" in raised
    later = {**wake("later", startAt="2026-12-05T10:00:00+09:00")}
    later["metadata"] = {"name": "later", "namespace": "team-a"}
    assert await k8s.call("POST", path.format("team-a"), later) == 201
    k8s.emulator.inject(
        KubernetesFault(
            "environmentwakes", "list", status=0, delay=1.5, times=10, namespace="team-b"
        )
    )
    pulls = len(stack.repo.pulls)
    async with watching(runtime_for(stack, "2026-11-28 11:00"), ["team-a", "team-b"]):
        await asyncio.sleep(3)  # both listings in, and time for a reconcile to go wrong
        await until(lambda: phase_in(k8s, "team-a", "later") == "Scheduled")
    assert stack.base(API) == raised  # not reset under the active wake
    assert len(stack.repo.pulls) == pulls
    assert phase_in(k8s, "team-b", "active") == "Awake"


def phase_in(k8s, namespace: str, name: str) -> str | None:
    body = k8s.read("envwake.dev", "v1alpha1", "environmentwakes", namespace, name) or {}
    return (body.get("status") or {}).get("phase")


async def test_flux_applying_a_later_commit_counts_as_applying_the_merge(stack, k8s):
    """Someone merges right after envwake: Flux applies the newest head, so the wait for
    envwake's own merge commit in lastAppliedRevision would never end."""
    import dataclasses

    from envwake.model.environment import FluxSettings, KustomizationRef
    from envwake.reconciler import Reconciler

    config = stack.environment.config.model_copy(
        update={"flux": FluxSettings(kustomization=KustomizationRef(name="apps"))}
    )
    stack.environment = dataclasses.replace(stack.environment, config=config)
    stack.flux.environment = stack.environment
    stack.reconciler = Reconciler(stack.environment, stack.reconciler.adapters)
    theirs: list[str] = []

    def someone_merges_right_after_envwake(method: str, path: str, status: int) -> None:
        if method == "PUT" and path.endswith("/merge") and status == 200 and not theirs:
            readme = "# flux-dev\nThe team's docs, merged right after envwake.\n"
            theirs.append(
                stack.github.service.push_to_base("acme/flux-dev", {"README.md": readme}, "docs")
            )

    stack.github.after_request = someone_merges_right_after_envwake  # before Flux looks
    stack.flux.sync()  # (the sandbox Flux of before this change synced on every read)
    runtime = runtime_for(stack, "2026-11-28 10:00")
    async with operator(runtime):
        await post(wake("busy", startAt="2026-11-28T10:00:00+09:00"))
        await until(lambda: phase(k8s, "busy") == "Awake", seconds=90)
    stack.github.after_request = None
    assert theirs, "nobody merged after envwake"
    first = min((pr for pr in stack.repo.pulls.values() if pr.merged), key=lambda p: p.number)
    assert theirs[0] in stack.flux.applied  # Flux applied their commit...
    assert first.merge_commit_sha not in stack.flux.applied  # ...never envwake's own merge
