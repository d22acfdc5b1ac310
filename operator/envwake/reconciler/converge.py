"""Converge one environment at one instant: plan (pure) → act (adapters) → report.

HOLD: clusters available first (their stop schedules held), then the services in
dependency waves, ONE pull request per wave, each wave merged, applied by the cluster
and ready before the next. ASLEEP (outside a normal window): services back to 0 in
reverse waves, then clusters stopped. NORMAL: every service back to 0 in one pull
request and the schedules restored to their originals. Every side effect is keyed
and checked first, so running this again, after a restart or a missed deadline,
converges to the same result.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from envwake import errors
from envwake.aws import AuroraClusters, Schedules
from envwake.gitops import ChangeSet, Delivery, Edit, GitHubSession, Timing, deliver
from envwake.gitops.workingcopy import WorkingCopy
from envwake.manifests import summarize
from envwake.model.environment import ServiceEntry
from envwake.model.loading import Environment
from envwake.planning import (
    Action,
    ActionKind,
    DesiredState,
    Plan,
    Rules,
    WakeRequest,
    plan_environment,
    start_waves,
    stop_waves,
)
from envwake.reconciler.report import ClusterRecord, EnvironmentReport, PullRequestRecord, Step

__all__ = ["Adapters", "ClusterView", "Reconciler", "current_action", "ended_with_stop"]

NORMAL_REPLICAS = 0  # what the normal schedule has: scaled to zero, KEDA's cron lifts it


class ClusterView(Protocol):
    """What the Kubernetes cluster applied: ScaledObjects and Deployments."""

    def scaled_object_min(self, namespace: str, name: str) -> int | None: ...

    def deployment_ready(self, namespace: str, name: str) -> tuple[int, int]: ...

    def applied_revision(self, namespace: str, name: str) -> str | None: ...


@dataclass
class Adapters:
    github: Callable[[], GitHubSession]  # a new session (token) per reconcile
    clone_url: str
    workdir: Path
    clusters: AuroraClusters
    schedules: Schedules
    cluster: ClusterView
    timing: Timing = field(default_factory=Timing)
    sync_timeout: float = 600.0
    ready_timeout: float = 900.0
    # Called with each step's reason as it happens (tests stop the operator here).
    checkpoint: Callable[[str], None] = field(default=lambda reason: None)


def ended_with_stop(plan: Plan, now: datetime) -> bool:
    """Whether the latest finished override ended with a stop that still stands: its
    clusters were started by envwake and no normal window has begun since the stop."""
    finished = [chain for chain in plan.chains if chain.reset_at <= now]
    if not finished:
        return False
    last = plan.segments[finished[-1].segments[-1]]
    stopped = any(a.kind is ActionKind.STOP and a.at == last.end for a in plan.actions)
    later_window = any(last.end <= w.start <= now for w in plan.windows)
    return stopped and not later_window and not plan.in_normal_window(now)


def current_action(plan: Plan, now: datetime) -> Action | None:
    """The action in force at ``now``: the last one due at or before it."""
    due = [a for a in plan.actions if a.at <= now]
    return due[-1] if due else None


class Reconciler:
    def __init__(self, environment: Environment, adapters: Adapters) -> None:
        self.environment = environment
        self.adapters = adapters
        self.rules = Rules.from_config(environment.config)

    def converge(
        self,
        wakes: list[WakeRequest],
        *,
        now: datetime,
        labels: tuple[str, ...] = (),
        reason: str | None = None,
        on_step: Callable[[Step], None] = lambda step: None,
        on_start: Callable[[EnvironmentReport], None] = lambda report: None,
    ) -> EnvironmentReport:
        """Converge the environment for ``wakes`` at ``now``. ``on_start`` sees the plan
        before anything is done, ``on_step`` each step as it happens."""
        plan = plan_environment(self.rules, wakes, now=now)
        desired = plan.state_at(now)
        report = EnvironmentReport(
            self.environment.name,
            now,
            plan,
            desired,
            current_action(plan, now),
            checkpoint=self.adapters.checkpoint,
            on_step=on_step,
        )
        report.services_total = len(self.environment.services)
        on_start(report)
        try:
            with self.adapters.github() as session:
                if desired is DesiredState.HOLD:
                    self._hold(session, report, labels, reason)
                elif desired is DesiredState.ASLEEP and not plan.in_normal_window(now):
                    self._sleep(session, report, labels, reason)
                else:
                    if ended_with_stop(plan, now):  # a stop due with (or before) its reset
                        self._sleep(session, report, labels, reason)
                    self._normal(session, report, labels, reason)
            report.converged = True
        except errors.EnvwakeError as failure:
            report.failure = failure
            report.step(failure.reason, str(failure), "Warning")
        return report

    # -- the three states ------------------------------------------------------------------------

    def _hold(
        self,
        session: GitHubSession,
        report: EnvironmentReport,
        labels: tuple[str, ...],
        reason: str | None,
    ) -> None:
        # Every manifest read and every edit tried on it first: a broken or mismatched
        # manifest fails the wake before a schedule is held or a cluster started.
        action = report.action
        kind = action.kind.value if action else ActionKind.START.value
        stamp = (action.at if action else report.now).astimezone(self.rules.timezone).isoformat()
        replicas, texts = self._base_manifests(session)
        waves: list[tuple[int, list[ServiceEntry], list[Edit]]] = []
        for wave in start_waves(self.environment):
            services = [self._service(key) for key in wave.services]
            if not services:
                continue
            edits = self._min_replica_edits(services, replicas)
            for service in services:
                deployment = service.manifest.deployment
                if deployment is not None and deployment.timestamp_key_name:
                    edits.append(
                        Edit(
                            deployment.path,
                            "annotation",
                            stamp,
                            key=deployment.timestamp_key_name,
                            document_name=service.service_name,
                        )
                    )
            for edit in edits:
                edit.apply(texts[edit.path])  # raises the manifest's problem, changes nothing
            waves.append((wave.number, services, edits))

        for cluster in self.environment.clusters:
            if self.adapters.schedules.hold(cluster).what == "held":
                report.step(
                    "ScheduleHeld",
                    f"holding {cluster.stop_schedule_name} so it cannot stop {cluster.cluster_id}",
                )
            state = self.adapters.clusters.describe(cluster)
            if state.status != "available":
                report.step("ClusterStarting", f"starting Aurora cluster {cluster.cluster_id}")
                state = self.adapters.clusters.start(cluster)
                report.step("ClusterAvailable", f"Aurora cluster {cluster.cluster_id} is available")
            report.clusters.append(
                ClusterRecord(cluster.cluster_id, cluster.aws_account_id, state.status)
            )

        for number, services, edits in waves:
            delivery = self._deliver(
                session,
                report,
                ChangeSet(self.environment.name, kind, tuple(edits), labels, reason),
                number,
            )
            self._wait_applied(report, services, replicas, ready=True, merged=delivery)
        report.step(
            "Awake",
            f"{self.environment.name} is awake: "
            f"{report.services_ready}/{report.services_total} services ready",
        )

    def _sleep(
        self,
        session: GitHubSession,
        report: EnvironmentReport,
        labels: tuple[str, ...],
        reason: str | None,
    ) -> None:
        zero = {service.key: NORMAL_REPLICAS for service in self.environment.services}
        for wave in stop_waves(self.environment):
            services = [self._service(key) for key in wave.services]
            if services:
                edits = tuple(self._min_replica_edits(services, zero))
                delivery = self._deliver(
                    session,
                    report,
                    ChangeSet(self.environment.name, "stop", edits, labels, reason),
                    wave.number,
                )
                self._wait_applied(report, services, zero, ready=False, merged=delivery)
        for cluster in self.environment.clusters:
            state = self.adapters.clusters.describe(cluster)
            if state.status != "stopped":
                report.step("ClusterStopping", f"stopping Aurora cluster {cluster.cluster_id}")
                state = self.adapters.clusters.stop(cluster)
                report.step("ClusterStopped", f"Aurora cluster {cluster.cluster_id} is stopped")
            report.clusters.append(
                ClusterRecord(cluster.cluster_id, cluster.aws_account_id, state.status)
            )
        report.step("Asleep", f"{self.environment.name} is asleep until the reset")

    def _normal(
        self,
        session: GitHubSession,
        report: EnvironmentReport,
        labels: tuple[str, ...],
        reason: str | None,
    ) -> None:
        services = list(self.environment.services)
        zero = {service.key: NORMAL_REPLICAS for service in services}
        edits = tuple(self._min_replica_edits(services, zero))
        delivery = self._deliver(
            session, report, ChangeSet(self.environment.name, "reset", edits, labels, reason), 1
        )
        for cluster in self.environment.clusters:
            changes = self.adapters.schedules.restore(cluster)
            if any(c.what == "restored" for c in changes):
                report.step(
                    "ScheduleRestored", f"schedules of {cluster.cluster_id} back to their originals"
                )
            state = self.adapters.clusters.describe(cluster)
            report.clusters.append(
                ClusterRecord(cluster.cluster_id, cluster.aws_account_id, state.status)
            )
        if delivery.status == "merged" and delivery.changes:
            report.step("Reset", f"{self.environment.name} is back on its normal schedule")

    # -- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _min_replica_edits(services: list[ServiceEntry], replicas: dict[str, int]) -> list[Edit]:
        return [
            Edit(
                s.manifest.scaled_object.path,
                "min-replicas",
                replicas[s.key],
                document_name=s.service_name,
            )
            for s in services
        ]

    def _service(self, key: str) -> ServiceEntry:
        return next(s for s in self.environment.services if s.key == key)

    def _base_manifests(self, session: GitHubSession) -> tuple[dict[str, int], dict[str, str]]:
        """Per service: its configured ``replicas``, else the largest cron desiredReplicas of
        its ScaledObject on the base branch (KEDA takes the maximum); and the text of every
        manifest the services name, as the base branch has it."""
        paths = sorted(
            {s.manifest.scaled_object.path for s in self.environment.services}
            | {
                s.manifest.deployment.path
                for s in self.environment.services
                if s.manifest.deployment is not None
            }
        )
        texts: dict[str, str] = {}
        if paths:
            with tempfile.TemporaryDirectory(dir=self.adapters.workdir) as scratch:
                copy = WorkingCopy.clone(
                    url=self.adapters.clone_url,
                    branch=self.environment.config.git.base_branch,
                    paths=paths,
                    token=session.token,
                    directory=Path(scratch) / "repo",
                )
                for path in paths:
                    text = copy.read(path)
                    if text is None:
                        raise errors.ManifestNotFound(f"{path}: no such file on the base branch")
                    texts[path] = text
        replicas = {}
        for service in self.environment.services:
            if service.replicas is not None:
                replicas[service.key] = service.replicas
                continue
            path = service.manifest.scaled_object.path
            summary = summarize(texts[path], source=path, name=service.service_name)
            if not summary.cron_triggers:
                raise errors.FieldValueInvalid(
                    f"{path}: ScaledObject {service.service_name!r} has no cron trigger "
                    "and the config gives no replicas for it"
                )
            replicas[service.key] = max(t.desired_replicas for t in summary.cron_triggers)
        return replicas, texts

    def _deliver(
        self, session: GitHubSession, report: EnvironmentReport, change: ChangeSet, wave: int
    ) -> Delivery:
        try:
            delivery = deliver(
                change,
                session=session,
                git=self.environment.config.git,
                clone_url=self.adapters.clone_url,
                workdir=self.adapters.workdir,
                timing=self.adapters.timing,
                on_step=report.step,
            )
        except errors.GitOpsError as exc:
            if exc.pull is not None:  # an open (or closed) PR is reported, never left silent
                number, url, left = exc.pull
                shown: Literal["open", "closed"] = "open" if left == "open" else "closed"
                report.pull_requests.append(
                    PullRequestRecord(number, url, shown, change.action, wave, None)
                )
            raise
        if delivery.pull is not None:
            merged = delivery.pull.merged or delivery.status == "merged"
            state: Literal["open", "merged"] = "merged" if merged else "open"
            report.pull_requests.append(
                PullRequestRecord(
                    delivery.pull.number,
                    delivery.pull.url,
                    state,
                    change.action,
                    wave,
                    delivery.merge_sha,
                )
            )
        return delivery

    def _wait_applied(
        self,
        report: EnvironmentReport,
        services: list[ServiceEntry],
        replicas: dict[str, int],
        *,
        ready: bool,
        merged: Delivery,
    ) -> None:
        timing = self.adapters.timing
        deadline = timing.monotonic() + self.adapters.sync_timeout
        view = self.adapters.cluster
        kustomization = self.environment.config.flux.kustomization
        if kustomization is not None and merged.changes and merged.merge_sha:
            namespace, name = kustomization.namespace, kustomization.name
            while merged.merge_sha not in (view.applied_revision(namespace, name) or ""):
                if timing.monotonic() >= deadline:
                    raise errors.SyncTimedOut(
                        f"Kustomization {namespace}/{name} has not applied "
                        f"{merged.merge_sha[:12]} within "
                        f"{self.adapters.sync_timeout:.0f}s of the merge"
                    )
                timing.sleep(timing.poll)
        while True:
            behind = [
                s.key
                for s in services
                if view.scaled_object_min(s.namespace, s.service_name) != replicas[s.key]
            ]
            if not behind:
                break
            if timing.monotonic() >= deadline:
                raise errors.SyncTimedOut(
                    f"the cluster has not applied minReplicaCount for {', '.join(behind)} "
                    f"within {self.adapters.sync_timeout:.0f}s of the merge"
                )
            timing.sleep(timing.poll)
        if not ready:
            return
        deadline = timing.monotonic() + self.adapters.ready_timeout
        while True:
            waiting = []
            for service in services:
                ready_now, wanted = view.deployment_ready(service.namespace, service.service_name)
                if ready_now < wanted:
                    waiting.append(service.key)
            if not waiting:
                break
            if timing.monotonic() >= deadline:
                raise errors.ServicesNotReady(
                    f"{', '.join(waiting)} not ready within {self.adapters.ready_timeout:.0f}s"
                )
            timing.sleep(timing.poll)
        total_ready = 0
        for service in self.environment.services:
            ready_now, wanted = view.deployment_ready(service.namespace, service.service_name)
            total_ready += int(wanted > 0 and ready_now >= wanted)
        report.services_ready = total_ready
        report.step("ServicesReady", f"wave ready: {', '.join(s.key for s in services)}")
