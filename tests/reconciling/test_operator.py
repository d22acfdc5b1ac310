"""The operator end to end: Kopf + kmock's Kubernetes emulator + the whole local stack."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import UTC, timedelta

import kmock
import kopf
import pytest

from envwake import handlers
from envwake.localstack import kopf_operator
from envwake.model.environment import FluxSettings, KustomizationRef
from envwake.reconciler import Reconciler
from envwake.runtime import Clock, Runtime
from envwake.sandbox.kubernetes import StampingEmulator

from .backends import EmulatedApi, RealApi
from .conftest import OTHER_ACCOUNT, at

WAKES = "envwake.dev/v1alpha1/environmentwakes"
WAKES_PATH = "/apis/envwake.dev/v1alpha1/namespaces/envwake/environmentwakes"
BACKEND: dict[str, EmulatedApi | RealApi] = {}  # the API under the test that runs now


REGISTRY = handlers.registry(login_from_kubeconfig=False)


@kopf.on.login(registry=REGISTRY)
def login_to_the_api(**_):
    return BACKEND["api"].login()


@pytest.fixture(params=["kmock", "envtest"])
def backend(request):
    """Which API server: kmock's emulator, or a real kube-apiserver (the envtest tier)."""
    if request.param == "kmock":
        return None
    from tests.envtest.test_operator_rbac import install_identity

    server = request.getfixturevalue("real_api_server")
    for namespace in ("envwake", "flux-system", "shop", "payments"):
        server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    return RealApi(server, install_identity(server))


@pytest.fixture
async def k8s(backend):
    if backend is not None:
        BACKEND["api"] = backend
        backend.clean()
        yield backend
        backend.clean()
        return
    async with emulated_api() as api:
        BACKEND["api"] = api
        yield api


@contextlib.asynccontextmanager
async def emulated_api():
    """kmock's Kubernetes emulator over HTTP, serving EnvironmentWakes."""
    async with StampingEmulator() as emulator, kmock.Server(emulator) as server:
        emulator.resources.load_bundled()  # core/v1 and friends: Kopf's discovery needs them
        emulator.resources[WAKES] = kmock.ResourceInfo(
            kind="EnvironmentWake",
            namespaced=True,
            shortnames={"ewake"},
            subresources={"status"},
            verbs={"list", "watch", "get", "create", "patch", "update", "delete"},
        )
        yield EmulatedApi(emulator, str(server.url).rstrip("/"))


@contextlib.asynccontextmanager
async def operator(runtime: Runtime):
    async with kopf_operator(REGISTRY, runtime):
        yield


def wake(name: str, **spec) -> dict:
    return {
        "apiVersion": "envwake.dev/v1alpha1",
        "kind": "EnvironmentWake",
        "metadata": {"name": name, "namespace": "envwake"},
        "spec": {"environment": "dev", **spec},
    }


async def post(obj: dict) -> None:
    assert await BACKEND["api"].call("POST", WAKES_PATH, obj) in (200, 201)


async def delete(name: str) -> None:
    assert await BACKEND["api"].call("DELETE", f"{WAKES_PATH}/{name}") == 200


def current(k8s, name: str) -> dict | None:
    return k8s.current(name)


async def until(predicate, *, seconds: float = 60.0, show=lambda: None):
    for _ in range(int(seconds * 20)):
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting; last seen: {show()}")


def events(k8s, name: str) -> list[tuple[str, str]]:
    return k8s.events(name)


def condition_reasons(body: dict | None) -> set[str]:
    return {c["reason"] for c in ((body or {}).get("status") or {}).get("conditions") or []}


def runtime_for(stack, now: str, *, restarted: bool = False) -> Runtime:
    """An operator whose clock starts at ``now``; the world begins then too, unless the
    operator is ``restarted`` in a world that goes on."""
    if not restarted:
        stack.begin(now)
    return Runtime(
        {"dev": stack.environment},
        lambda env: stack.reconciler,
        BACKEND["api"].sink(),
        clock=Clock(origin=at(now).astimezone(UTC)),
        await_listing=True,
    )


async def test_saturday_wake_end_to_end(stack, k8s):
    runtime = runtime_for(stack, "2026-11-28 10:00")
    async with operator(runtime):
        await post(
            wake(
                "release-test",
                startAt="2026-11-28T10:00:00+09:00",
                reason="Release 2026.11 regression test",
                requestedBy="hanako.yamada",
            )
        )
        body = await until(
            lambda: (
                (b := current(k8s, "release-test"))
                and b.get("status", {}).get("phase") == "Awake"
                and b
            ),
            show=lambda: (current(k8s, "release-test"), runtime.reports),
        )
        status = body["status"]
        assert status["effectiveStopAt"] == "2026-11-28T22:00:00+09:00"
        assert status["nextAction"]["description"] == "stop 2026-11-28 22:00"
        assert {c["type"]: c["status"] for c in status["conditions"]} == {
            "Ready": "True",
            "Valid": "True",
            "Awake": "True",
            "Synced": "True",
            "Failed": "False",
        }
        assert [p["state"] for p in status["pullRequests"]] == ["merged", "merged"]
        assert status["services"] == {"ready": 3, "total": 3}
        assert "envwake.dev/finalizer" in body["metadata"]["finalizers"]
        await until(lambda: "Awake" in [r for _, r in events(k8s, "release-test")])
        reasons = [r for _, r in events(k8s, "release-test")]
        for reason in (
            "ScheduleHeld",
            "ClusterStarting",
            "ClusterAvailable",
            "PullRequestOpened",
            "Merged",
            "ServicesReady",
            "Awake",
        ):
            assert reason in reasons, reasons
        assert "hanako.yamada" in next(iter(stack.repo.pulls.values())).body

        # The evening: the operator replans when its clock reaches the stop.
        runtime.clock.origin += timedelta(hours=12)
        await runtime.poke("dev")
        body = await until(
            lambda: (
                (b := current(k8s, "release-test")) and b["status"]["phase"] == "Completed" and b
            )
        )
        assert stack.aws.cluster_status("payments-db", account=OTHER_ACCOUNT) == "stopped"
        assert "minReplicaCount: 0" in stack.base("apps/shop/api/scaledobject.yaml")
        await until(lambda: "ScheduleRestored" in [r for _, r in events(k8s, "release-test")])
        reasons = [r for _, r in events(k8s, "release-test")]
        for reason in ("Pushed", "ChecksPassed", "ClusterStopping", "ClusterStopped", "Asleep"):
            assert reason in reasons, reasons

        await delete("release-test")
        await until(lambda: current(k8s, "release-test") is None)

    text = runtime.metrics.render()
    assert 'envwake_reconciles_total{environment="dev",state="HOLD"}' in text
    assert 'envwake_pull_request_wait_seconds_count{environment="dev"} 4' in text  # 2 waves x2
    assert "# TYPE envwake_wakes gauge" in text


async def test_invalid_wake_fails_without_side_effects(stack, k8s):
    runtime = runtime_for(stack, "2026-11-28 10:00")
    async with operator(runtime):
        await post(wake("typo", environment="prod"))
        body = await until(
            lambda: (b := current(k8s, "typo")) and b.get("status", {}).get("phase") and b
        )
        status = body["status"]
        assert status["phase"] == "Failed"
        valid = next(c for c in status["conditions"] if c["type"] == "Valid")
        assert (valid["status"], valid["reason"]) == ("False", "EnvironmentUnknown")
        assert "unknown environment 'prod' (known: dev)" in valid["message"]
        await until(lambda: ("Warning", "EnvironmentUnknown") in events(k8s, "typo"))
    assert stack.repo.pulls == {}
    assert stack.aws.cluster_status("shop-db") == "stopped"


async def test_deleting_an_active_wake_puts_the_environment_to_sleep_and_resets_it(stack, k8s):
    runtime = runtime_for(stack, "2026-11-28 10:00")
    async with operator(runtime):
        await post(wake("short", startAt="2026-11-28T10:00:00+09:00"))
        await until(
            lambda: (b := current(k8s, "short")) and b.get("status", {}).get("phase") == "Awake"
        )
        runtime.clock.origin += timedelta(hours=2)
        await delete("short")
        await until(lambda: current(k8s, "short") is None)
    assert stack.aws.cluster_status("shop-db") == "stopped"
    assert stack.aws.cluster_status("payments-db", account=OTHER_ACCOUNT) == "stopped"
    assert "minReplicaCount: 0" in stack.base("apps/shop/web/scaledobject.yaml")
    scheduler = stack.aws.session().client("scheduler", endpoint_url=stack.aws.url)
    assert scheduler.get_schedule(Name="shop-db-stop")["State"] == "ENABLED"


async def test_a_deleted_wake_stays_until_the_environment_is_really_asleep(stack, k8s):
    """Found on the local stack: the stop timed out waiting for Flux, the finalizer went
    anyway, and the clusters ran all weekend."""
    runtime = runtime_for(stack, "2026-11-28 10:00")
    runtime.retry_after = 0.5
    async with operator(runtime):
        await post(wake("held", startAt="2026-11-28T10:00:00+09:00"))
        await until(lambda: phase(k8s, "held") == "Awake")
        runtime.clock.origin += timedelta(hours=2)
        stack.flux.paused = True  # Flux applies nothing: the stop cannot finish
        await delete("held")
        await until(lambda: ("Warning", "SyncTimedOut") in events(k8s, "held"))
        assert current(k8s, "held") is not None  # the finalizer holds it
        assert stack.aws.cluster_status("shop-db") == "available"
        stack.flux.paused = False
        await until(lambda: current(k8s, "held") is None)
    assert stack.aws.cluster_status("shop-db") == "stopped"
    assert stack.aws.cluster_status("payments-db", account=OTHER_ACCOUNT) == "stopped"


class VirtualTimer:
    """The runtime's sleep, in virtual time: records each sleep and moves the clock instead.

    After ``limit`` sleeps it waits for a trigger only, so the loop stays quiet."""

    def __init__(self, clock: Clock, limit: int) -> None:
        self.clock, self.limit, self.slept = clock, limit, []

    async def __call__(self, trigger: asyncio.Event, seconds: float | None) -> None:
        if seconds is None or len(self.slept) >= self.limit:
            await trigger.wait()
            return
        self.slept.append(seconds)
        self.clock.origin += timedelta(seconds=seconds)
        await asyncio.sleep(0)


async def test_deadlines_are_slept_until_not_polled(stack, k8s):
    clock = Clock(origin=at("2026-11-28 10:00").astimezone(UTC))
    timer = VirtualTimer(clock, limit=1)
    runtime = Runtime(
        {"dev": stack.environment},
        lambda env: stack.reconciler,
        BACKEND["api"].sink(),
        clock=clock,
        sleep=timer,
        await_listing=True,
        finished_ttl=None,  # (no janitor's sleep among the ones counted)
    )
    async with operator(runtime):
        await post(wake("sat", startAt="2026-11-28T10:00:00+09:00"))
        body = await until(
            lambda: (
                (b := current(k8s, "sat")) and b.get("status", {}).get("phase") == "Completed" and b
            )
        )
    # One sleep, from the moment the wake was awake until the stop at 22:00: no polling.
    assert len(timer.slept) == 1
    assert 11.9 * 3600 < timer.slept[0] <= 12 * 3600
    assert body["status"]["effectiveStopAt"] == "2026-11-28T22:00:00+09:00"
    assert stack.aws.cluster_status("shop-db") == "stopped"


async def test_a_restarted_operator_adopts_the_open_pull_request(stack, k8s):
    from envwake.gitops import Timing
    from envwake.sandbox.github import CiJob

    stack.repo.ci = [CiJob("build", outcome="hang")]
    stack.reconciler.adapters.timing = Timing(
        sleep=stack.time.sleep, monotonic=stack.time.monotonic, poll=10, check_timeout=120
    )
    async with operator(runtime_for(stack, "2026-11-28 10:00")):
        await post(wake("restart", startAt="2026-11-28T10:00:00+09:00"))
        await until(lambda: "ChecksTimedOut" in condition_reasons(current(k8s, "restart")))
    # The operator is gone with a pull request open and CI stuck. CI recovers; a new one starts.
    (pr,) = stack.repo.pulls.values()
    assert pr.state == "open"
    stack.repo.ci = [CiJob("build", seconds=10)]
    stack.github.service.start_ci(stack.repo, pr.head_sha)
    async with operator(runtime_for(stack, "2026-11-28 10:05")):
        await until(
            lambda: (current(k8s, "restart") or {}).get("status", {}).get("phase") == "Awake"
        )
    merged = [p for p in stack.repo.pulls.values() if p.merged]
    assert len(merged) == 2  # one per wave
    assert pr.number in {p.number for p in merged}  # the open one was adopted, not duplicated
    assert len({p.head for p in stack.repo.pulls.values()}) == len(stack.repo.pulls)


async def test_sync_and_readiness_are_read_from_the_cluster(stack, k8s):
    """The operator reads ScaledObjects and Deployments through the Kubernetes API, where
    the sandbox Flux/KEDA applied what was merged."""

    from envwake.kube import KubernetesClusterView

    k8s.serve_flux_resources()
    config = stack.environment.config.model_copy(
        update={"flux": FluxSettings(kustomization=KustomizationRef(name="apps"))}
    )
    stack.environment = dataclasses.replace(stack.environment, config=config)
    stack.flux.environment = stack.environment
    stack.reconciler = Reconciler(stack.environment, stack.reconciler.adapters)
    stack.flux.kubernetes_url = k8s.url
    stack.flux.http = k8s.writer_session()
    stack.time.on_sleep = [stack.flux.tick]
    stack.reconciler.adapters.cluster = KubernetesClusterView(k8s.operator_client())
    async with operator(runtime_for(stack, "2026-11-28 10:00")):
        await post(wake("k8s", startAt="2026-11-28T10:00:00+09:00"))
        body = await until(
            lambda: (
                (current(k8s, "k8s") or {}).get("status", {}).get("phase") == "Awake"
                and current(k8s, "k8s")
            )
        )
    assert body["status"]["services"] == {"ready": 3, "total": 3}
    scaled = ("keda.sh", "v1alpha1", "scaledobjects")
    assert k8s.read(*scaled, "shop", "api")["spec"]["minReplicaCount"] == 2
    assert k8s.read(*scaled, "payments", "ledger")["spec"]["minReplicaCount"] == 3
    deployment = k8s.read("apps", "v1", "deployments", "shop", "web")
    assert deployment["status"]["readyReplicas"] == deployment["spec"]["replicas"] == 2
    kustomization = k8s.read(
        "kustomize.toolkit.fluxcd.io", "v1", "kustomizations", "flux-system", "apps"
    )
    revision = kustomization["status"]["lastAppliedRevision"]
    assert revision == f"master@sha1:{stack.repo.store.ref('master')}"


# -- the scenarios, through Kopf ------------------------------------------------------


def phase(k8s, name: str) -> str | None:
    return ((current(k8s, name) or {}).get("status") or {}).get("phase")


async def at_time(runtime: Runtime, now: str) -> None:
    """Move the operator's clock to ``now`` and let it act, as its deadline timer would."""
    runtime.clock.origin = at(now).astimezone(UTC) - (runtime.clock.now() - runtime.clock.origin)
    await runtime.poke("dev")


async def test_wake_past_midnight(stack, k8s):
    runtime = runtime_for(stack, "2026-11-25 14:00")
    async with operator(runtime):
        await post(
            wake("night", startAt="2026-11-25T14:00:00+09:00", stopAt="2026-11-26T02:00:00+09:00")
        )
        await until(lambda: phase(k8s, "night") == "Awake")  # the normal window covers the day
        assert stack.merged_prs() == []
        await at_time(runtime, "2026-11-25 23:30")
        await until(lambda: phase(k8s, "night") == "Extending")
        assert {p["action"] for p in current(k8s, "night")["status"]["pullRequests"]} == {"expand"}
        await at_time(runtime, "2026-11-26 02:00")
        await until(lambda: phase(k8s, "night") == "Stopping")
        assert stack.aws.cluster_status("shop-db") == "stopped"
        await at_time(runtime, "2026-11-26 10:00")
        await until(lambda: phase(k8s, "night") == "Completed")
        assert current(k8s, "night")["status"]["resetAt"] == "2026-11-26T10:00:00+09:00"


async def test_two_overlapping_wakes(stack, k8s):
    runtime = runtime_for(stack, "2026-11-28 10:00")
    async with operator(runtime):
        await post(
            wake("first", startAt="2026-11-28T10:00:00+09:00", stopAt="2026-11-28T14:00:00+09:00")
        )
        await post(
            wake("second", startAt="2026-11-28T12:00:00+09:00", stopAt="2026-11-28T18:00:00+09:00")
        )
        await until(lambda: phase(k8s, "first") == "Awake")
        await at_time(runtime, "2026-11-28 14:00")
        await until(lambda: phase(k8s, "first") == "Stopping" and phase(k8s, "second") == "Awake")
        assert stack.aws.cluster_status("shop-db") == "available"  # no stop: "second" needs it
        await at_time(runtime, "2026-11-28 18:00")
        await until(lambda: phase(k8s, "second") == "Stopping")
        assert stack.aws.cluster_status("shop-db") == "stopped"
        await at_time(runtime, "2026-11-28 22:00")
        await until(lambda: phase(k8s, "first") == phase(k8s, "second") == "Completed")
    assert len(stack.merged_prs()) == 4  # one start (2 waves), one stop (2 waves)


async def test_a_wake_waiting_for_its_reset_hears_nothing_of_the_next_wakes_start(stack, k8s):
    """Found by the soak: a night wake, asleep until the shared reset, was told the early
    wake's start (its waves ready, Awake) as if it had been woken a second time."""
    runtime = runtime_for(stack, "2026-11-26 23:30")
    async with operator(runtime):
        night = wake(
            "night", startAt="2026-11-26T21:00:00+09:00", stopAt="2026-11-27T01:30:00+09:00"
        )
        await post(night)
        await post(wake("early", startAt="2026-11-27T05:00:00+09:00"))  # reset: Fri 10:00 too
        await until(lambda: phase(k8s, "night") == "Extending")
        await at_time(runtime, "2026-11-27 01:30")
        await until(lambda: "Asleep" in [s["reason"] for s in steps_of(k8s, "night")])
        told = steps_of(k8s, "night")
        await at_time(runtime, "2026-11-27 05:00")
        await until(lambda: phase(k8s, "early") == "Awake", show=lambda: current(k8s, "early"))
        assert steps_of(k8s, "night") == told
        assert phase(k8s, "night") == "Stopping"  # still waiting for its reset
        awake_steps = [s for s in steps_of(k8s, "early") if s["reason"] == "Awake"]
        assert len(awake_steps) == 1


def steps_of(k8s, name: str) -> list[dict]:
    return list(((current(k8s, name) or {}).get("status") or {}).get("steps") or [])


async def test_early_start_hands_over(stack, k8s):
    runtime = runtime_for(stack, "2026-11-26 05:30")
    async with operator(runtime):
        await post(wake("early", startAt="2026-11-26T05:30:00+09:00"))
        await until(lambda: phase(k8s, "early") == "Awake")
        await at_time(runtime, "2026-11-26 10:00")
        await until(lambda: phase(k8s, "early") == "Completed")
    assert stack.aws.cluster_status("shop-db") == "available"  # handed over to the working day
    assert "minReplicaCount: 0" in stack.base("apps/shop/api/scaledobject.yaml")


async def test_failed_ci_check(stack, k8s):
    from envwake.sandbox.github import CiJob

    stack.repo.ci = [CiJob("build", outcome="failure", seconds=20)]
    async with operator(runtime_for(stack, "2026-11-28 10:00")):
        await post(wake("ci", startAt="2026-11-28T10:00:00+09:00"))
        await until(lambda: phase(k8s, "ci") == "Failed")
        await until(lambda: ("Warning", "ChecksFailed") in events(k8s, "ci"))
        status = current(k8s, "ci")["status"]
        assert "check build failed" in status["message"]
        assert "ChecksFailed" in condition_reasons(current(k8s, "ci"))
    assert stack.merged_prs() == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param(
            {"startAt": "2026-11-28T10:00:00+09:00", "stopAt": "2026-11-28T09:00:00+09:00"},
            ("spec: stopAt must be after startAt", "spec.stopAt: Invalid value"),
            id="stop-before-start",
        ),
        pytest.param(
            {"startAt": "tomorrow"},
            ("spec.startAt: Input should be a valid datetime", "spec.startAt: Invalid value"),
            id="bad-time",
        ),
    ],
)
async def test_invalid_times_fail_without_side_effects(stack, k8s, spec, message):
    """The emulator lets a bad wake through and the operator refuses it; a real API server
    refuses it first, with the CRD's schema and CEL rule (both: nothing happens)."""
    ours, servers = message
    async with operator(runtime_for(stack, "2026-11-28 10:00")):
        code = await k8s.call("POST", WAKES_PATH, wake("bad", **spec))
        if k8s.name == "envtest":
            assert code == 422
            assert servers in k8s.last_refusal
            return
        assert code == 201
        await until(lambda: phase(k8s, "bad") == "Failed")
        valid = next(c for c in current(k8s, "bad")["status"]["conditions"] if c["type"] == "Valid")
        assert (valid["status"], valid["reason"]) == ("False", "WakeInvalid")
        assert valid["message"].startswith(ours)
    assert stack.repo.pulls == {}


async def test_a_deadline_missed_while_down_is_acted_on_at_start(stack, k8s):
    async with operator(runtime_for(stack, "2026-11-28 10:00")):
        await post(wake("missed", startAt="2026-11-28T10:00:00+09:00"))
        await until(lambda: phase(k8s, "missed") == "Awake")
    # Down through the 22:00 stop and reset; back at 22:30.
    pulls = len(stack.repo.pulls)
    async with operator(runtime_for(stack, "2026-11-28 22:30")):
        await until(lambda: phase(k8s, "missed") == "Completed")
    assert stack.aws.cluster_status("shop-db") == "stopped"
    assert len(stack.repo.pulls) == pulls + 2  # the stop's two waves, nothing else


async def test_a_cancelled_wake_that_had_not_started_ends_and_touches_nothing(stack, k8s):
    """The Slack app may not delete a wake: it cancels one that has not started."""
    runtime = runtime_for(stack, "2026-11-28 10:00")
    async with operator(runtime):
        await post(wake("later", startAt="2026-11-28T18:00:00+09:00"))
        await until(lambda: phase(k8s, "later") == "Scheduled")
        code = await k8s.call(
            "PATCH",
            f"{WAKES_PATH}/later",
            {"spec": {"cancelled": True}},
            **{"Content-Type": "application/merge-patch+json"},
        )
        assert code == 200
        await until(lambda: phase(k8s, "later") == "Completed")
        await until(lambda: ("Normal", "Cancelled") in events(k8s, "later"))  # after the status
        assert current(k8s, "later")["status"]["message"].startswith("cancelled")
    assert len(stack.repo.pulls) == 0
    assert stack.aws.cluster_status("shop-db") == "stopped"


async def test_changing_a_wake_replans_at_once(stack, k8s):
    runtime = runtime_for(stack, "2026-11-28 10:00")
    async with operator(runtime):
        await post(wake("change", startAt="2026-11-28T10:00:00+09:00"))
        await until(lambda: phase(k8s, "change") == "Awake")
        runtime.clock.origin += timedelta(hours=2)
        patch = {"spec": {"stopAt": "2026-11-28T12:00:00+09:00"}}
        code = await k8s.call(
            "PATCH",
            f"{WAKES_PATH}/change",
            patch,
            **{"Content-Type": "application/merge-patch+json"},
        )
        assert code == 200
        await until(lambda: phase(k8s, "change") == "Stopping")  # as soon as it starts
        await until(lambda: "Asleep" in [r for _, r in events(k8s, "change")])
        status = current(k8s, "change")["status"]
        assert status["effectiveStopAt"] == "2026-11-28T12:00:00+09:00"
        assert status["observedGeneration"] == 2
    assert stack.aws.cluster_status("shop-db") == "stopped"


class OperatorKilled(BaseException):
    """The operator process died at this point (nothing inside it catches this)."""


KILL_STEPS = [
    "ClusterStarting",
    "Pushed",
    "PullRequestOpened",
    "ChecksPassed",
    "Merged",
    "ClusterAvailable",
    "ServicesReady",
    "ClusterStopping",
    "ScheduleRestored",
]
# Every step on the emulator; on the real API server, one of each kind (git, GitHub,
# AWS): the whole matrix of kills on the real process is tests/reconciling/
# test_killed_operator.py, and random ones in the soak (tests/soak).
ON_A_REAL_SERVER = ("Pushed", "Merged", "ClusterStopping", "ScheduleRestored")


@pytest.mark.parametrize(
    ("backend", "step"),
    [("kmock", step) for step in KILL_STEPS] + [("envtest", step) for step in ON_A_REAL_SERVER],
    indirect=["backend"],
)
async def test_operator_killed_at_each_step_then_restarted(stack, k8s, step):
    evening = step in ("ClusterStopping", "ScheduleRestored")
    fired = []

    def kill(reason: str) -> None:
        if reason == step and not fired:
            fired.append(reason)
            raise OperatorKilled(reason)

    if evening:  # get to an awake environment first, then die during the evening's work
        async with operator(runtime_for(stack, "2026-11-28 10:00")):
            await post(wake("killed", startAt="2026-11-28T10:00:00+09:00"))
            await until(lambda: phase(k8s, "killed") == "Awake")
    stack.reconciler.adapters.checkpoint = kill
    first = runtime_for(stack, "2026-11-28 22:00" if evening else "2026-11-28 10:00")
    async with operator(first):
        if not evening:
            await post(wake("killed", startAt="2026-11-28T10:00:00+09:00"))
        await until(lambda: bool(fired))
        loop = first._loops["dev"]
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(loop, timeout=30)  # the loop died with the process
    stack.reconciler.adapters.checkpoint = lambda reason: None
    # A new operator process, on the same cluster, GitHub and AWS.
    restarted = runtime_for(
        stack, "2026-11-28 22:00" if evening else "2026-11-28 10:00", restarted=True
    )
    async with operator(restarted):
        await until(lambda: phase(k8s, "killed") == ("Completed" if evening else "Awake"))
    if not evening:
        async with operator(runtime_for(stack, "2026-11-28 22:00")):
            await until(lambda: phase(k8s, "killed") == "Completed")
    merged = [pr for pr in stack.repo.pulls.values() if pr.merged]
    assert len(merged) == len({pr.head for pr in merged}) == 4  # one per wave and action
    assert all(pr.state == "closed" for pr in stack.repo.pulls.values())
    assert set(stack.repo.store.refs()) == {"master"}
    assert stack.aws.cluster_status("shop-db") == "stopped"
    # what the new process did again (the start asked for, the checks of the pull request
    # it took up) the wake was told once
    told = [(s["reason"], s["message"]) for s in steps_of(k8s, "killed")]
    assert len(told) == len(set(told)), [t for t in told if told.count(t) > 1]


async def test_a_completed_wake_says_so_and_nothing_stale(stack, k8s):
    """What envwake status shows of a finished wake: no next action left over from when it
    was awake, each cluster once, and times that say their zone."""
    from zoneinfo import ZoneInfo

    from envwake.wakes.request import describe_wake

    runtime = runtime_for(stack, "2026-11-28 10:00")
    async with operator(runtime):
        await post(wake("done", startAt="2026-11-28T10:00:00+09:00"))
        await until(lambda: phase(k8s, "done") == "Awake")
        assert current(k8s, "done")["status"]["nextAction"]["action"] == "stop"
        await at_time(runtime, "2026-11-28 22:00")
        await until(lambda: phase(k8s, "done") == "Completed")
    body = current(k8s, "done")
    assert "nextAction" not in body["status"]
    assert "restore" not in body["status"]  # nothing left to remember
    lines = describe_wake(body, ZoneInfo("Asia/Tokyo"))
    assert lines[0] == "  envwake/done  Completed  Sat 11-28 10:00 JST -> Sat 11-28 22:00 JST"
    assert not any("next:" in line for line in lines), lines
    assert [line for line in lines if "clusters:" in line] == [
        "    clusters: shop-db stopped, payments-db stopped"
    ]
    utc = describe_wake(body, UTC)[0]  # no config at hand: UTC, and it says so
    assert utc == "  envwake/done  Completed  Sat 11-28 01:00 UTC -> Sat 11-28 13:00 UTC"
