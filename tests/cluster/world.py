"""An environment of envwake on the real cluster: its config, its GitOps repository on
the GitHub emulator (read by the real source-controller over smart HTTP with a read-only
token), its Aurora clusters on moto, and ``envwake run`` as a process logged in as
deploy/'s operator ServiceAccount, telling real time."""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from envwake.configdir import load_config_dir
from envwake.localstack import KubernetesApi, LocalStack, OperatorProcess, StackTiming
from envwake.model.loading import Environment
from envwake.sandbox.clock import VirtualClock
from tests.cluster.cluster import RealCluster, conditions, eventually
from tests.envtest.conftest import install_identities

__all__ = ["OPERATOR", "World", "environment_yaml", "next_minute", "world"]

OPERATOR = "system:serviceaccount:envwake-system:envwake-operator"
# Seconds, in real time: CI on the emulator, an Aurora start or stop on moto.
TIMING = StackTiming(ci_seconds=2.0, cluster_seconds=3.0)
# The normal schedule never opens while a test runs (1 January, 03:00-04:00 UTC): what
# wakes the services is envwake, not KEDA's cron trigger.
NEVER = {"start": "0 3 1 1 *", "end": "0 4 1 1 *"}


def next_minute(after: datetime) -> datetime:
    """The first whole minute at or after ``after`` (reset slots are HH:MM)."""
    return datetime.fromtimestamp(math.ceil(after.timestamp() / 60) * 60, UTC)


def environment_yaml(
    name: str, *, reset_slot: datetime, cluster: bool = True, overlay: str = ""
) -> str:
    """A config: ``{name}-db`` (unless not ``cluster``), then ``api`` needing it, then
    ``web`` needing ``api``: two dependency waves. ``overlay``: the ``flux.overlay``
    mapping, in flow style."""
    slot = reset_slot.strftime("%H:%M")
    database = (
        f"""
  - type: rdscluster
    clusterID: {name}-db
    startScheduleName: {name}-db-start
    originStartTime: cron(0 3 1 1 ? *)
    stopScheduleName: {name}-db-stop
    originStopTime: cron(0 4 1 1 ? *)"""
        if cluster
        else ""
    )
    return f"""name: {name}
git:
  repository: team/{name}-gitops
  baseBranch: main
  checks: [build]
timezone: UTC
schedule: {{start: "{NEVER["start"]}", end: "{NEVER["end"]}"}}
reset: {{businessDay: "{slot}", nonBusinessDay: "{slot}"}}
flux:
  kustomization: {{name: {name}}}{f"{chr(10)}  overlay: {overlay}" if overlay else ""}
services:{database}
  - type: service
    namespace: {name}-apps
    serviceName: api
    manifest:
      scaledObject: {{path: apps/api/scaledobject.yaml}}
      deployment: {{path: apps/api/deployment.yaml, timestampKeyName: envwake.dev/restartedAt}}
    dependencies: [{f"{name}-db" if cluster else "[]"}]
  - type: service
    namespace: {name}-apps
    serviceName: web
    manifest:
      scaledObject: {{path: apps/web/scaledobject.yaml}}
      deployment: {{path: apps/web/deployment.yaml}}
    dependencies: [api]
""".replace("dependencies: [[]]", "dependencies: []")


@dataclass
class World:
    cluster: RealCluster
    stack: LocalStack
    environment: Environment
    operator: OperatorProcess

    @property
    def name(self) -> str:
        return str(self.environment.name)

    @property
    def namespace(self) -> str:
        """Where the services run (as the files say)."""
        return f"{self.name}-apps"

    @property
    def wakes(self) -> str:
        """This world's own namespace of EnvironmentWakes (its operator watches only it)."""
        return f"{self.name}-wakes"

    def create_wake(self, wake: str, spec: Mapping[str, Any]) -> None:
        manifest = self.stack.wake_manifest(wake, spec)
        manifest["metadata"]["namespace"] = self.wakes
        code, answer = self.cluster.api.request(
            "POST", f"/apis/envwake.dev/v1alpha1/namespaces/{self.wakes}/environmentwakes", manifest
        )
        assert code == 201, answer

    def patch_wake(self, wake: str, spec: Mapping[str, Any]) -> None:
        code, answer = self.cluster.api.request(
            "PATCH",
            f"/apis/envwake.dev/v1alpha1/namespaces/{self.wakes}/environmentwakes/{wake}",
            {"spec": dict(spec)},
            content_type="application/merge-patch+json",
        )
        assert code == 200, answer

    def delete_wake(self, wake: str) -> None:
        code, answer = self.cluster.api.request(
            "DELETE", f"/apis/envwake.dev/v1alpha1/namespaces/{self.wakes}/environmentwakes/{wake}"
        )
        assert code == 200, answer

    def wake(self, wake: str) -> dict[str, Any]:
        return self.cluster.get(
            f"/apis/envwake.dev/v1alpha1/namespaces/{self.wakes}/environmentwakes/{wake}"
        )

    def wake_until(self, wake: str, phase: str, *, within: float) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            if not self.operator.running:
                raise AssertionError(f"envwake run exited: {self.operator.tail()}")
            return self.wake(wake)

        return eventually(
            read,
            lambda w: (w.get("status") or {}).get("phase") == phase,
            within=within,
            what=f"wake {wake} {phase}",
        )

    def events(self, wake: str) -> list[tuple[str, str]]:
        _, listing = self.cluster.api.request(
            "GET",
            f"/api/v1/namespaces/{self.wakes}/events?fieldSelector=involvedObject.name={wake}",
        )
        items = sorted(
            (listing or {}).get("items") or [], key=lambda e: e["metadata"]["creationTimestamp"]
        )
        return [(e["reason"], e["message"]) for e in items]

    def flux_ready(self) -> bool:
        status = conditions(self.cluster.kustomization(self.name)).get("Ready", ("",))[0]
        return status == "True"

    def base_head(self) -> str:
        return _head(self.stack)


@contextlib.asynccontextmanager
async def world(
    cluster: RealCluster,
    workdir: Path,
    config_text: str,
    *,
    files: Mapping[str, str | None] = {},
    path: str = "./",
    operate: bool = True,
    settle: bool = True,
    flags: tuple[str, ...] = (),
) -> AsyncIterator[World]:
    """The environment of ``config_text`` on ``cluster``, applied by Flux and scaled to 0
    by KEDA (its normal schedule is closed; unless not ``settle``: KEDA may not manage
    every service), with ``envwake run`` operating it (unless not ``operate``; with more
    ``flags``)."""
    config_dir = workdir / "config"
    config_dir.mkdir(parents=True)
    (config_dir / "env.yaml").write_text(config_text)
    environments, problems = load_config_dir(config_dir)
    assert not problems, problems
    (environment,) = environments.values()
    api = cluster.api
    install_identities(api)
    overlay = environment.config.flux.overlay.namespace
    name = str(environment.name)
    wakes = {f"{name}-wakes"} | ({overlay} if overlay else set())
    for namespace in wakes | {s.namespace for s in environment.services}:
        api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    certs = api.root / "certs"
    token = api.token_for("envwake-system", "envwake-operator")
    stack = LocalStack(
        environment,
        workdir=workdir / "stack",
        clock=VirtualClock(datetime.now(UTC)),  # real time: KEDA's cron reads the wall clock
        timing=TIMING,
        kubernetes_api=KubernetesApi(api.url, certs / "ca.crt", None, token),
        sandbox_flux=False,
    )
    async with stack:
        if files:
            stack.github.service.push_to_base(stack.repository, files, "Lay out the overlay")
        cluster.gitops(
            name,
            stack.github.clone_url(stack.repository),
            stack.read_token(),
            branch=environment.config.git.base_branch,
            path=path,
        )
        eventually(
            lambda: cluster.kustomization(name),
            lambda k: (k.get("status") or {}).get("lastAppliedRevision", "").endswith(_head(stack)),
            within=60,
            what=f"Flux applied {name}'s repository",
        )
        for service in environment.services if settle else ():  # KEDA holds them at 0
            where, called = environment.config.flux.overlay.in_cluster(
                service.namespace, service.service_name
            )
            eventually(
                lambda w=where, c=called: cluster.deployment(w, c).get("spec", {}).get("replicas"),
                lambda replicas: replicas == 0,
                within=60,
                what=f"KEDA scaled {where}/{called} to 0",
            )
        operator = OperatorProcess(
            stack,
            config_dir,
            None,
            kubeconfig=api.kubeconfig(workdir / "operator.kubeconfig", token=token),
            flags=("--poll-interval", "1s", "--namespace", f"{name}-wakes", *flags),
        )
        if operate:
            await operator.start()
        try:
            yield World(cluster, stack, environment, operator)
        finally:
            await operator.stop()


def _head(stack: LocalStack) -> str:
    repo = stack.github.state.repositories[stack.repository]
    return str(repo.store.ref(repo.default_branch))


def later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds")
