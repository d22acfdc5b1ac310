"""The operator under load, and GitHub calls per wave, each against the naive way.

1. 50 environments x 20 services (and 2 Aurora clusters each; 3 dependency waves)
   and 500 EnvironmentWakes (10 per environment, over a week) in kmock's Kubernetes
   emulator, with Kopf and envwake's runtime handling them. The reconcilers plan and write
   status but reach no GitHub or AWS (what is measured is the operator's own cost).
   Printed: time until every wake has a status, the process's memory (peak RSS, and the
   Python heap that grew), and planning time per reconcile: envwake plans one
   environment's 10 wakes; the naive way (one plan over every wake in the cluster, as a
   controller without per-environment state would) is timed in the same run.
2. GitHub API calls to deliver one wave of N services (N = 1, 5, 10, 20) through the
   GitHub emulator: envwake puts the wave in one change set (one branch, one commit, one
   pull request); the naive way opens one pull request per service.
3. GitHub API calls per wake, whole: one wake (start, stop at its end, reset) of an
   environment of 6, 15, 30 or 60 services in 3 waves, handled by the operator (Kopf,
   the runtime, the real reconciler) on the local stack: kmock, the GitHub emulator with
   its CI, moto and the sandbox Flux, on a virtual clock. The naive column is what one
   pull request per service costs, at the per-service price measured in 2.

    .venv/bin/python benchmarks/operator_load.py [--environments 50] [--wakes-per 10]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import kmock
import kopf

from envwake import handlers
from envwake.gitops import AppCredentials, ChangeSet, Edit, GitHubSession, Secret, Timing, deliver
from envwake.kube import ApiSink
from envwake.localstack import (
    NAMESPACE,
    RESOURCES,
    KubernetesApi,
    LocalStack,
    StackTiming,
    kopf_operator,
)
from envwake.model.loading import Environment, load_environment
from envwake.planning import Rules, WakeRequest, plan_environment
from envwake.reconciler.report import EnvironmentReport
from envwake.runtime import Clock, Runtime
from envwake.sandbox.clock import VirtualClock
from envwake.sandbox.github import CiJob, GitHubEmulator
from envwake.sandbox.kubernetes import StampingEmulator
from envwake.sandbox.repository import flux_files

NOW = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # a Monday, 09:00 in Tokyo


def rss_mib() -> float:
    """This process's resident memory now (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def config(index: int, services: int = 20) -> str:
    """An environment: 2 clusters and ``services`` services in 3 waves: the first third
    needs a cluster, the second needs svc-00, the last needs the first of the second."""
    suffix = f"{index:02d}"
    lines = [f"name: env-{suffix}", f"git: {{repository: acme/flux-{suffix}}}", "services:"]
    for db in ("db-a", "db-b"):
        lines.append(
            f"  - {{type: rdscluster, clusterID: {db}-{suffix}, "
            f"startScheduleName: {db}-{suffix}-start, "
            "originStartTime: 'cron(30 6 ? * MON-FRI *)', "
            f"stopScheduleName: {db}-{suffix}-stop, originStopTime: 'cron(0 0 ? * TUE-SAT *)'}}"
        )
    third = services // 3
    for number in range(services):
        needs = [f"db-a-{suffix}", "shop/svc-00", f"shop/svc-{third:02d}"][min(number // third, 2)]
        lines.append(
            f"  - {{type: service, namespace: shop, serviceName: svc-{number:02d}, "
            f"manifest: {{scaledObject: {{path: apps/svc-{number:02d}/scaledobject.yaml}}}}, "
            f"dependencies: [{needs}]}}"
        )
    return "\n".join(lines) + "\n"


def environment(index: int, services: int = 20) -> Environment:
    loaded = load_environment(
        config(index, services), source=f"env-{index:02d}.yaml", default_name="x"
    )
    assert isinstance(loaded, Environment), loaded
    return loaded


def wakes_for(index: int, count: int) -> list[dict[str, Any]]:
    """``count`` wakes of environment ``index``: evenings and weekend days of one week."""
    out = []
    for number in range(count):
        start = NOW + timedelta(hours=10 + 14 * number + index % 3)
        out.append(
            {
                "apiVersion": "envwake.dev/v1alpha1",
                "kind": "EnvironmentWake",
                "metadata": {"name": f"env-{index:02d}-{number:02d}", "namespace": "load"},
                "spec": {
                    "environment": f"env-{index:02d}",
                    "startAt": start.isoformat(),
                    "stopAt": (start + timedelta(hours=3)).isoformat(),
                    "reason": "load test",
                },
            }
        )
    return out


class PlanningOnly:
    """A reconciler that plans and reports, and reaches no GitHub or AWS."""

    def __init__(self, env: Environment, timings: list[float]) -> None:
        self.environment = env
        self.rules = Rules.from_config(env.config)
        self.timings = timings

    def converge(
        self, wakes: Sequence[WakeRequest], *, now: datetime, **_: Any
    ) -> EnvironmentReport:
        started = time.perf_counter()
        plan = plan_environment(self.rules, wakes, now=now)
        self.timings.append(time.perf_counter() - started)
        report = EnvironmentReport(self.environment.name, now, plan, plan.state_at(now), None)
        report.services_total = len(self.environment.services)
        report.converged = True
        return report


async def operator_under_load(environments: int, wakes_per: int) -> dict[str, Any]:
    envs = {e.name: e for e in (environment(i) for i in range(environments))}
    bodies = [w for i in range(environments) for w in wakes_for(i, wakes_per)]
    timings: list[float] = []
    rss_before = rss_mib()
    async with StampingEmulator() as emulator, kmock.Server(emulator) as server:
        emulator.resources.load_bundled()
        for name, info in RESOURCES.items():
            emulator.resources[name] = info
        url = str(server.url).rstrip("/")
        api = KubernetesApi(url)
        registry = handlers.registry(login_from_kubeconfig=False)
        kopf.on.login(registry=registry)(api.login)
        runtime = Runtime(
            envs,
            lambda env: PlanningOnly(env, timings),  # type: ignore[arg-type,return-value]
            ApiSink(url),
            clock=Clock(origin=NOW),
        )
        started = time.perf_counter()
        async with kopf_operator(registry, runtime), aiohttp.ClientSession() as http:
            path = f"{url}/apis/envwake.dev/v1alpha1/namespaces/load/environmentwakes"
            for body in bodies:
                async with http.post(path, json=body) as response:
                    assert response.status in (200, 201), await response.text()
            while True:
                async with http.get(path) as response:
                    items = (await response.json())["items"]
                if len(items) == len(bodies) and all(
                    (i.get("status") or {}).get("phase") for i in items
                ):
                    break
                await asyncio.sleep(0.2)
            settled = time.perf_counter() - started
            phases: dict[str, int] = {}
            for item in items:
                phases[item["status"]["phase"]] = phases.get(item["status"]["phase"], 0) + 1
            rss_loaded = rss_mib()

    # The naive way: every reconcile plans every wake in the cluster (by environment, as
    # it must, but all of them each time): time one such reconcile, same machine, same run.
    everything = [(envs[b["spec"]["environment"]], b["spec"]) for b in bodies]
    naive: list[float] = []
    for _ in range(5):
        started_naive = time.perf_counter()
        for env in envs.values():
            mine = [
                WakeRequest(
                    datetime.fromisoformat(s["startAt"]), datetime.fromisoformat(s["stopAt"])
                )
                for e, s in everything
                if e is env
            ]
            plan_environment(Rules.from_config(env.config), mine, now=NOW)
        naive.append(time.perf_counter() - started_naive)
    return {
        "wakes": len(bodies),
        "environments": len(envs),
        "services": sum(len(e.services) for e in envs.values()),
        "settled_s": settled,
        "phases": phases,
        "reconciles": len(timings),
        "plan_median_ms": statistics.median(timings) * 1000,
        "plan_p95_ms": sorted(timings)[int(len(timings) * 0.95) - 1] * 1000,
        "naive_reconcile_ms": statistics.median(naive) * 1000,
        "rss_mib": rss_loaded,
        "rss_growth_mib": rss_loaded - rss_before,
    }


def github_calls_per_wave(sizes: Sequence[int]) -> list[tuple[int, int, int]]:
    """(services in the wave, API calls for envwake's one change set, for one PR each)."""
    env = environment(0)
    services = [s for s in env.services if hasattr(s, "manifest")][: max(sizes)]
    rows = []
    for size in sizes:
        counts = []
        for per_service in (False, True):
            with GitHubEmulator() as github, tempfile.TemporaryDirectory() as work:
                app_id, key = github.service.create_app()
                repo = github.service.create_repository(
                    "acme/flux-00",
                    files=flux_files(env),
                    required_checks=["build"],
                    ci=[CiJob("build", seconds=0)],
                )
                installation = github.service.install(app_id, "acme", ["acme/flux-00"])
                credentials = AppCredentials(
                    app_id, installation, Secret(key.decode()), api_url=github.url
                )
                edits = [
                    Edit(
                        s.manifest.scaled_object.path,
                        "min-replicas",
                        2,
                        document_name=s.service_name,
                    )
                    for s in services[:size]
                ]
                groups = [[e] for e in edits] if per_service else [edits]
                before = len(github.requests)
                for number, group in enumerate(groups):
                    change = ChangeSet("env-00", "start", tuple(group), (f"load/{number}",), None)
                    with GitHubSession(credentials, repo.full_name, spacing=False) as session:
                        deliver(
                            change,
                            session=session,
                            git=env.config.git,
                            clone_url=github.clone_url(repo.full_name),
                            workdir=Path(work),
                            timing=Timing(poll=0.05, mergeable_poll=0.05),
                        )
                api = [r for r in github.requests[before:] if ".git/" not in r[1]]
                counts.append(len(api))
        rows.append((size, counts[0], counts[1]))
    return rows


async def one_whole_wake(services: int, workdir: Path) -> tuple[int, int, int]:
    """(GitHub API calls, of which polls, pull requests) for one wake of an environment
    of ``services`` services, from its creation to its reset, through the operator on the
    local stack."""
    env = environment(0, services)
    saturday = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    # The sandbox Flux applies every manifest on each pass, slower as services grow; a
    # slower clock keeps its pace, in virtual time, within the operator's sync timeout.
    clock = VirtualClock(saturday, speed=max(10.0, 720.0 / services))
    timing = StackTiming(ci_seconds=20.0, cluster_seconds=60.0, pods_ready_seconds=10.0)
    stack = LocalStack(env, workdir=workdir, clock=clock, timing=timing)
    async with stack, stack.operator() as runtime, aiohttp.ClientSession() as http:
        path = f"{stack.kubernetes_url}/apis/envwake.dev/v1alpha1/namespaces/{NAMESPACE}"
        wakes = f"{path}/environmentwakes"
        before = len(stack.github.requests)
        spec = {
            "startAt": saturday.isoformat(),
            "stopAt": (saturday + timedelta(hours=2)).isoformat(),
            "reason": "benchmark",
        }
        async with http.post(wakes, json=stack.wake_manifest("whole", spec)) as response:
            assert response.status == 201, await response.text()

        async def status_when(reached: Any) -> dict[str, Any]:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                async with http.get(f"{wakes}/whole") as response:
                    status = (await response.json()).get("status") or {}
                assert status.get("phase") != "Failed", status
                if reached(status):
                    return status
                await asyncio.sleep(0.2)
            raise TimeoutError(f"the wake of {services} services did not get there: {status}")

        status = await status_when(lambda s: s.get("phase") in ("Awake", "Extending"))
        clock.reset(datetime.fromisoformat(status["effectiveStopAt"]), speed=clock.speed)
        await runtime.poke(env.name)
        status = await status_when(
            lambda s: any(step["reason"] == "Asleep" for step in s.get("steps", []))
        )
        clock.reset(datetime.fromisoformat(status["resetAt"]), speed=clock.speed)
        await runtime.poke(env.name)
        await status_when(lambda s: s.get("phase") == "Completed")
        calls = [r for r in stack.github.requests[before:] if ".git/" not in r[1]]
        pulls = len(stack.github.state.repositories[stack.repository].pulls)
    waits = [r for r in calls if r[0] == "GET" and re.search(POLLS, r[1])]
    return len(calls), len(waits), pulls


# Reading a pull request or its checks again while waiting: how many depends on how
# long CI and mergeability take (on this busy machine), not on the change.
POLLS = r"/pulls/\d+$|/commits/[^/]+/(check-runs|status)$"


def github_calls_per_wake(sizes: Sequence[int]) -> Iterator[tuple[int, int, int, int]]:
    """(services, GitHub API calls for the whole wake, of which polls, pull requests)."""
    for size in sizes:
        with tempfile.TemporaryDirectory() as work:
            calls, polls, pulls = asyncio.run(one_whole_wake(size, Path(work)))
        yield size, calls, polls, pulls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--environments", type=int, default=50)
    parser.add_argument("--wakes-per", type=int, default=10)
    parser.add_argument("--wave-sizes", default="1,5,10,20")
    parser.add_argument("--wake-sizes", default="6,15,30,60")
    args = parser.parse_args()

    print(f"1. the operator with {args.environments * args.wakes_per} wakes ...", flush=True)
    load = asyncio.run(operator_under_load(args.environments, args.wakes_per))
    print(
        f"   {load['environments']} environments, {load['services']} services, "
        f"{load['wakes']} wakes: every wake had a status after {load['settled_s']:.1f} s "
        f"({', '.join(f'{n} {p}' for p, n in sorted(load['phases'].items()))})"
    )
    print(
        f"   memory: RSS {load['rss_mib']:.0f} MiB with every wake handled, "
        f"{load['rss_growth_mib']:.0f} MiB more than before the first wake (kmock's API "
        "emulator, holding every object, runs in the same process)"
    )
    print(
        f"   planning per reconcile ({load['reconciles']} reconciles): envwake, one "
        f"environment's wakes: median {load['plan_median_ms']:.2f} ms, p95 "
        f"{load['plan_p95_ms']:.2f} ms; naive, every wake in the cluster: "
        f"{load['naive_reconcile_ms']:.1f} ms "
        f"({load['naive_reconcile_ms'] / load['plan_median_ms']:.0f}x)"
    )
    sizes = [int(s) for s in args.wave_sizes.split(",")]
    print("2. GitHub API calls to deliver one wave ...", flush=True)
    print("   services in the wave | envwake (one change set) | naive (one PR per service)")
    per_wave = github_calls_per_wave(sizes)
    for size, ours, naive in per_wave:
        print(f"   {size:>21} | {ours:>24} | {naive:>26}")
    per_pull = per_wave[0][1]  # one service, one pull request: the price of a pull request
    print("3. GitHub API calls for one whole wake (start, stop, reset) through the operator ...")
    print(
        "   services | pull requests | envwake API calls (polls while waiting) "
        "| naive (a PR per service, each x2)"
    )
    sizes = [int(s) for s in args.wake_sizes.split(",")]
    for size, calls, polls, pulls in github_calls_per_wake(sizes):
        print(
            f"   {size:>8} | {pulls:>13} | {calls:>17} ({polls:>3} polls, {calls - polls:>3} other)"
            f" | {size * 2 * per_pull:>10}",
            flush=True,
        )


if __name__ == "__main__":
    main()
