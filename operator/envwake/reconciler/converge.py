"""Converge one environment at one instant: plan (pure) → observe → act → report.

HOLD: clusters available first (their stop schedules held), then the services in
dependency waves, ONE pull request per wave, each wave merged, applied by the cluster
and ready before the next. ASLEEP (outside a normal window): services down in reverse
waves, then clusters stopped. NORMAL: every ``minReplicaCount`` envwake changed put
back exactly as it was before (absent stays absent) in one pull request, the schedules
restored to their originals.

What was there before envwake first changed it is recorded (``originals``) before the
first change is pushed, through ``on_record`` (the operator keeps it in the wakes'
status), and handed back in at every reconcile: the reset restores it, the stop uses it
where it already says 0. Inside a normal window envwake does nothing while the normal
schedule keeps the environment awake; when it has not woken it for a wake, that is
reported, and after ``normalScheduleGrace`` envwake holds the environment itself until
the wake ends.

Every side effect is keyed and checked first; done is read from the world (the base
branch, the cluster, AWS), never from history, so running this again, after a restart
or a missed deadline, converges to the same result. Nothing but an envwake error leaves
``converge``: anything else becomes ``Unexpected``, reported and retried.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from envwake import errors
from envwake.aws import AuroraClusters, Schedules
from envwake.gitops import ChangeSet, Delivery, Edit, GitHubSession, Timing, deliver
from envwake.gitops.changes import BRANCH_PREFIX
from envwake.gitops.github import Pull
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
from envwake.reconciler.cluster import ClusterView
from envwake.reconciler.report import (
    ClusterRecord,
    EnvironmentReport,
    PullRequestRecord,
    Record,
    Step,
)

__all__ = [
    "Adapters",
    "ClusterView",
    "Reconciler",
    "current_action",
    "ended_with_stop",
    "stop_target",
]

logger = logging.getLogger("envwake.reconciler")
_ANCESTRY_KEPT = 512  # compare answers remembered (a commit's ancestors never change)


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
    # How long KEDA may say it cannot scale a service (its ScaledObject not Ready) before
    # envwake stops waiting for the pods and says so in KEDA's words: KEDA can say it for
    # a moment while Flux is still applying the Deployment.
    keda_grace: float = 60.0
    # Called with each step's reason as it happens (tests stop the operator here).
    checkpoint: Callable[[str], None] = field(default=lambda reason: None)


def ended_with_stop(plan: Plan, now: datetime) -> bool:
    """Whether the latest finished override ended with a stop that still stands: its
    clusters were started by envwake and no normal window has begun since the stop."""
    return _standing_stop(plan, now) is not None


def _standing_stop(plan: Plan, now: datetime) -> Action | None:
    finished = [chain for chain in plan.chains if chain.reset_at <= now]
    if not finished:
        return None
    last = plan.segments[finished[-1].segments[-1]]
    stop = next((a for a in plan.actions if a.kind is ActionKind.STOP and a.at == last.end), None)
    later_window = any(last.end <= w.start <= now for w in plan.windows)
    if stop is None or later_window or plan.in_normal_window(now):
        return None
    return stop


def current_action(plan: Plan, now: datetime) -> Action | None:
    """The action in force at ``now``: the last one due at or before it."""
    due = [a for a in plan.actions if a.at <= now]
    return due[-1] if due else None


def stop_target(original: int | None) -> int | None:
    """What a service is set to when the environment sleeps: 0, written as the manifest
    had it when that already meant 0 (absent stays absent)."""
    return original if original is None or original == 0 else 0


@dataclass
class _Wave:
    number: int
    services: list[ServiceEntry]
    change: ChangeSet
    targets: dict[str, int | None]


@dataclass
class _Base:
    """The base branch as read at the start of a reconcile."""

    head: str
    texts: dict[str, str]
    hold: dict[str, int]  # per service: its replicas while held
    cron: dict[str, int]  # per service: what its cron trigger keeps up (0: none)
    values: dict[str, int | None]  # per service: its minReplicaCount now (None: absent)


class Reconciler:
    def __init__(self, environment: Environment, adapters: Adapters) -> None:
        self.environment = environment
        self.adapters = adapters
        self.rules = Rules.from_config(environment.config)
        self._ancestry: dict[tuple[str, str], bool] = {}
        self._late_since: datetime | None = None  # the normal schedule seen not up since
        self._kept: Record | None = None  # the record as on_record last kept it
        self._before_push: Callable[[], None] | None = None

    def converge(
        self,
        wakes: list[WakeRequest],
        *,
        now: datetime,
        labels: tuple[str, ...] = (),
        reason: str | None = None,
        record: Record | None = None,
        on_step: Callable[[Step], None] = lambda step: None,
        on_start: Callable[[EnvironmentReport], None] = lambda report: None,
        on_record: Callable[[Record], None] = lambda record: None,
    ) -> EnvironmentReport:
        """Converge the environment for ``wakes`` at ``now``, given what was recorded.
        ``on_start`` sees the plan before anything is done, ``on_step`` each step as it
        happens; ``on_record`` must keep the record before it returns (the change it
        makes possible is pushed next)."""
        try:
            plan = plan_environment(self.rules, wakes, now=now)
        except errors.EnvwakeError as failure:  # the caller checks wakes one by one first
            plan = plan_environment(self.rules, [], now=now)
            report = self._report(plan, now, on_step, record)
            report.failure = failure
            return report
        report = self._report(plan, now, on_step, record)
        on_start(report)
        try:
            with self.adapters.github() as session:
                self._converge(session, report, labels, reason, on_record)
            report.converged = True
        except errors.EnvwakeError as failure:
            report.failure = failure
        except Exception as exc:  # a library's exception no adapter translated: a bug
            logger.exception("reconciling %s failed unexpectedly", self.environment.name)
            report.failure = errors.Unexpected(
                f"{type(exc).__name__} while reconciling {self.environment.name}: {exc}"[:500]
            )
        return report

    def _report(
        self,
        plan: Plan,
        now: datetime,
        on_step: Callable[[Step], None],
        record: Record | None,
    ) -> EnvironmentReport:
        report = EnvironmentReport(
            self.environment.name,
            now,
            plan,
            plan.state_at(now),
            current_action(plan, now),
            checkpoint=self.adapters.checkpoint,
            on_step=on_step,
        )
        report.services_total = len(self.environment.services)
        if record is not None:
            report.record = Record(dict(record.originals), record.held_since)
        return report

    def _converge(
        self,
        session: GitHubSession,
        report: EnvironmentReport,
        labels: tuple[str, ...],
        reason: str | None,
        on_record: Callable[[Record], None],
    ) -> None:
        plan, now, desired = report.plan, report.now, report.desired
        base = self._read_base(session)
        in_window = plan.in_normal_window(now)
        asleep = desired is DesiredState.ASLEEP and not in_window
        hold_at: datetime | None = None
        kind = ActionKind.START.value
        if desired is DesiredState.HOLD:
            hold_at = report.action.at if report.action else now
            kind = report.action.kind.value if report.action else kind
        elif in_window:  # NORMAL, or asleep until a reset the normal window runs across
            hold_at = self._held_in_window(report, base)

        waves: list[_Wave] = []
        reset = None
        standing: Action | None = None
        if hold_at is not None:
            waves = self._hold_waves(base, kind, hold_at, labels, reason)
        elif asleep:
            waves = self._stop_waves(report, base, report.action, labels, reason)
        else:
            standing = _standing_stop(plan, now) if desired is DesiredState.NORMAL else None
            if standing is not None:
                waves = self._stop_waves(report, base, standing, labels, reason)
            reset = self._reset_change(report, labels, reason)

        changes = [w.change for w in waves] + ([reset] if reset is not None else [])
        open_pulls = self._sweep(session, report, changes)
        # kept before the first push: what each service had before envwake changed it
        self._before_push = (lambda: self._record(report, base, on_record)) if waves else None
        if hold_at is not None:
            report.holding = True
            try:
                self._hold(session, report, base, waves, open_pulls)
            finally:
                report.holding = False
            return
        if waves:
            stop = report.action if asleep else standing
            report.stopping_at = stop.at if stop is not None else None
            try:
                self._sleep(session, report, base, waves, open_pulls)
            finally:
                report.stopping_at = None
        if not asleep:
            self._normal(session, report, reset, open_pulls)
            if desired is DesiredState.NORMAL and in_window and report.changed:
                self._held_in_window(report, base)  # (what the reset left, looked at again)

    # -- reading the base ------------------------------------------------------------------

    def _read_base(self, session: GitHubSession) -> _Base:
        """Every manifest the services name, as the base branch has it: each service's
        replicas while held (configured, else the largest cron desiredReplicas: KEDA
        takes the maximum) and its minReplicaCount now."""
        paths = sorted(
            {s.manifest.scaled_object.path for s in self.environment.services}
            | {
                s.manifest.deployment.path
                for s in self.environment.services
                if s.manifest.deployment is not None
            }
        )
        texts: dict[str, str] = {}
        head = ""
        if paths:
            with tempfile.TemporaryDirectory(dir=self.adapters.workdir) as scratch:
                copy = WorkingCopy.clone(
                    url=self.adapters.clone_url,
                    branch=self.environment.config.git.base_branch,
                    paths=paths,
                    token=session.token,
                    directory=Path(scratch) / "repo",
                )
                head = copy.head
                for path in paths:
                    text = copy.read(path)
                    if text is None:
                        raise errors.ManifestNotFound(f"{path}: no such file on the base branch")
                    texts[path] = text
        hold: dict[str, int] = {}
        cron: dict[str, int] = {}
        values: dict[str, int | None] = {}
        for service in self.environment.services:
            path = service.manifest.scaled_object.path
            summary = summarize(texts[path], source=path, name=service.service_name)
            current = summary.min_replicas
            values[service.key] = current if isinstance(current, int) else None
            cron[service.key] = max((t.desired_replicas for t in summary.cron_triggers), default=0)
            if service.replicas is not None:
                hold[service.key] = service.replicas
                continue
            if not summary.cron_triggers:
                raise errors.FieldValueInvalid(
                    f"{path}: ScaledObject {service.service_name!r} has no cron trigger "
                    "and the config gives no replicas for it"
                )
            hold[service.key] = max(t.desired_replicas for t in summary.cron_triggers)
        return _Base(head, texts, hold, cron, values)

    def _record(
        self, report: EnvironmentReport, base: _Base, on_record: Callable[[Record], None]
    ) -> None:
        """Before the first change of a service: keep what it has now."""
        record = report.record
        missing = {k: v for k, v in base.values.items() if k not in record.originals}
        if missing or record != self._kept:
            record.originals.update(missing)
            on_record(Record(dict(record.originals), record.held_since))
            self._kept = Record(dict(record.originals), record.held_since)

    # -- the change sets of this reconcile -------------------------------------------------

    def _hold_waves(
        self,
        base: _Base,
        kind: str,
        at: datetime,
        labels: tuple[str, ...],
        reason: str | None,
    ) -> list[_Wave]:
        """Every wave's edits, each tried on the base first: a broken or mismatched manifest
        fails the wake before a schedule is held or a cluster started."""
        stamp = at.astimezone(self.rules.timezone).isoformat()
        waves = []
        groups = [(wave.number, list(wave.services)) for wave in start_waves(self.environment)]
        if kind == ActionKind.EXPAND.value:
            # KEDA's cron trigger has every service up until the window closes: nothing
            # starts, so no order to keep; one pull request is done sooner (before 00:00)
            groups = [(1, [key for _, keys in groups for key in keys])]
        for number, keys in groups:
            services = [self._service(key) for key in keys]
            if not services:
                continue
            targets: dict[str, int | None] = {s.key: base.hold[s.key] for s in services}
            edits = self._min_replica_edits(services, targets)
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
            texts = dict(base.texts)
            for edit in edits:
                texts[edit.path] = edit.apply(texts[edit.path]).text  # raises its problem
            change = ChangeSet(
                self.environment.name, kind, tuple(edits), labels, reason, instant=at
            )
            waves.append(_Wave(number, services, change, targets))
        return waves

    def _stop_waves(
        self,
        report: EnvironmentReport,
        base: _Base,
        action: Action | None,
        labels: tuple[str, ...],
        reason: str | None,
    ) -> list[_Wave]:
        originals = {**base.values, **report.record.originals}
        waves = []
        for wave in stop_waves(self.environment):
            services = [self._service(key) for key in wave.services]
            if not services:
                continue
            targets = {s.key: stop_target(originals[s.key]) for s in services}
            edits = tuple(self._min_replica_edits(services, targets))
            instant = action.at if action else None
            change = ChangeSet(
                self.environment.name, "stop", edits, labels, reason, instant=instant
            )
            waves.append(_Wave(wave.number, services, change, targets))
        return waves

    def _reset_change(
        self, report: EnvironmentReport, labels: tuple[str, ...], reason: str | None
    ) -> ChangeSet | None:
        originals = report.record.originals
        services = [s for s in self.environment.services if s.key in originals]
        if not services:
            return None
        action = report.action
        instant = action.at if action and action.kind is ActionKind.RESET else None
        edits = tuple(
            self._min_replica_edits(services, {s.key: originals[s.key] for s in services})
        )
        return ChangeSet(self.environment.name, "reset", edits, labels, reason, instant=instant)

    def _sweep(
        self, session: GitHubSession, report: EnvironmentReport, changes: list[ChangeSet]
    ) -> dict[str, Pull | None]:
        """envwake's branches of this environment: those of this reconcile's changes are
        kept (with their open pull requests, to adopt); every other one is superseded
        (its pull request closed, the branch deleted). One call when there are none."""
        wanted = {change.branch for change in changes}
        found = session.branches(f"{BRANCH_PREFIX}{self.environment.name}/")
        base = self.environment.config.git.base_branch
        kept: dict[str, Pull | None] = {}
        for branch in sorted(found):
            pull = session.open_pull(branch, base)
            if branch in wanted:
                kept[branch] = pull
                continue
            if pull is not None:
                session.close(
                    pull.number,
                    comment="envwake: superseded; the environment wants something else now "
                    "(its wakes or the base branch changed). Nothing of this was merged.",
                )
                report.step(
                    "Superseded", f"closed pull request #{pull.number} ({branch}): superseded"
                )
            session.delete_branch(branch)
        return kept

    # -- the three states ------------------------------------------------------------------

    def _hold(
        self,
        session: GitHubSession,
        report: EnvironmentReport,
        base: _Base,
        waves: list[_Wave],
        open_pulls: dict[str, Pull | None],
    ) -> None:
        report.clusters.clear()
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
        for wave in waves:
            delivery = self._deliver(session, report, base, wave.change, wave.number, open_pulls)
            self._wait_applied(session, report, wave, ready=True, delivery=delivery)
        self._observe(report, base.hold, clusters_seen=True)
        if report.changed:
            report.step(
                "Awake",
                f"{self.environment.name} is awake: "
                f"{report.services_ready}/{report.services_total} services ready",
            )

    def _sleep(
        self,
        session: GitHubSession,
        report: EnvironmentReport,
        base: _Base,
        waves: list[_Wave],
        open_pulls: dict[str, Pull | None],
    ) -> None:
        before = len(report.steps)
        for wave in waves:
            delivery = self._deliver(session, report, base, wave.change, wave.number, open_pulls)
            self._wait_applied(session, report, wave, ready=False, delivery=delivery)
        for cluster in self.environment.clusters:
            state = self.adapters.clusters.describe(cluster)
            if state.status != "stopped":
                report.step("ClusterStopping", f"stopping Aurora cluster {cluster.cluster_id}")
                state = self.adapters.clusters.stop(cluster)
                report.step("ClusterStopped", f"Aurora cluster {cluster.cluster_id} is stopped")
            report.clusters.append(
                ClusterRecord(cluster.cluster_id, cluster.aws_account_id, state.status)
            )
        if len(report.steps) > before:
            report.step("Asleep", f"{self.environment.name} is asleep until the reset")

    def _normal(
        self,
        session: GitHubSession,
        report: EnvironmentReport,
        reset: ChangeSet | None,
        open_pulls: dict[str, Pull | None],
    ) -> None:
        merged = False
        if reset is not None:
            delivery = self._deliver(session, report, None, reset, 1, open_pulls)
            merged = delivery.status == "merged"
        restored = False
        report.clusters.clear()
        for cluster in self.environment.clusters:
            changes = self.adapters.schedules.restore(cluster)
            if any(c.what == "restored" for c in changes):
                restored = True
                report.step(
                    "ScheduleRestored", f"schedules of {cluster.cluster_id} back to their originals"
                )
            state = self.adapters.clusters.describe(cluster)
            report.clusters.append(
                ClusterRecord(cluster.cluster_id, cluster.aws_account_id, state.status)
            )
        report.record = Record()  # everything is back as it was: nothing left to remember
        if merged or restored:
            report.step("Reset", f"{self.environment.name} is back on its normal schedule")

    # -- inside a normal window ----------------------------------------------------------------

    def _held_in_window(self, report: EnvironmentReport, base: _Base) -> datetime | None:
        """Inside a normal window, for a wake: is the environment up, as the normal schedule
        should have made it? Returns since when envwake holds it itself: it does once the
        normal schedule is ``normalScheduleGrace`` late, until no wake needs it."""
        plan, now, record = report.plan, report.now, report.record
        active = [w for w in plan.wakes if w.start <= now < w.stop]
        if not active:
            self._late_since = None
            record.held_since = None  # the wakes ended: the reset puts everything back
            return None
        if record.held_since is not None:
            return record.held_since
        unwoken = self._observe(report, base.cron)
        if report.awake:
            self._late_since = None
            return None
        grace = self.environment.config.normal_schedule_grace
        if not unwoken:  # up, but not every pod is ready: not the schedule's failure
            report.recheck_at = now + grace
            return None
        window = next(w for w in plan.windows if w.start <= now < w.end)
        if self._late_since is None or self._late_since < window.start:
            # to the second, as the wake's status keeps it: a restarted operator holds from
            # the same instant, and stamps the same restartedAt on the pods
            self._late_since = now.replace(microsecond=0)
        due = max(window.start + grace, self._late_since)
        if now >= due:
            record.held_since = due
            return due
        report.normal_schedule_late = True
        report.recheck_at = due
        return None

    def _observe(
        self, report: EnvironmentReport, wanted: Mapping[str, int], *, clusters_seen: bool = False
    ) -> list[str]:
        """Whether every cluster is available and every service ready at its ``wanted``
        replicas (0: not wanted), whoever woke them (``report.awake``; what is not, in
        ``report.not_up``). Returns what nobody woke: clusters not available, services
        with no pod."""
        if not clusters_seen:
            report.clusters.clear()
            for cluster in self.environment.clusters:
                state = self.adapters.clusters.describe(cluster)
                report.clusters.append(
                    ClusterRecord(cluster.cluster_id, cluster.aws_account_id, state.status)
                )
        unwoken = [
            f"cluster {c.id} is {c.state}" for c in report.clusters if c.state != "available"
        ]
        not_up = list(unwoken)
        view, ready_count = self.adapters.cluster, 0
        for service in self.environment.services:
            ready, _ = view.deployment_ready(*self._in_cluster(service))
            replicas = wanted[service.key]
            if ready >= replicas:
                ready_count += 1
                continue
            not_up.append(f"{service.key} has {ready}/{replicas} pods ready")
            if ready == 0:
                unwoken.append(not_up[-1])
        report.services_ready = ready_count
        report.not_up = not_up
        report.awake = not not_up
        return unwoken

    # -- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _min_replica_edits(
        services: list[ServiceEntry], targets: Mapping[str, int | None]
    ) -> list[Edit]:
        return [
            Edit(
                s.manifest.scaled_object.path,
                "min-replicas",
                targets[s.key],
                document_name=s.service_name,
            )
            for s in services
        ]

    def _in_cluster(self, service: ServiceEntry) -> tuple[str, str]:
        """Where the cluster has the service's ScaledObject and Deployment: the files'
        names through the overlay Flux applies (``flux.overlay``)."""
        overlay = self.environment.config.flux.overlay
        return overlay.in_cluster(service.namespace, service.service_name)

    def _service(self, key: str) -> ServiceEntry:
        return next(s for s in self.environment.services if s.key == key)

    def _deliver(
        self,
        session: GitHubSession,
        report: EnvironmentReport,
        base: _Base | None,
        change: ChangeSet,
        wave: int,
        open_pulls: dict[str, Pull | None],
    ) -> Delivery:
        if base is not None and change.branch not in open_pulls:  # is the base there already?
            texts = dict(base.texts)
            results = []
            for edit in change.edits:
                result = edit.apply(texts[edit.path])
                texts[edit.path] = result.text
                results.append(result)
            if not any(r.changed for r in results):
                return Delivery("unchanged", change.branch, base_sha=base.head)
        if self._before_push is not None:
            self._before_push()
        try:
            delivery = deliver(
                change,
                session=session,
                git=self.environment.config.git,
                clone_url=self.adapters.clone_url,
                workdir=self.adapters.workdir,
                timing=self.adapters.timing,
                on_step=report.step,
                open_pull=open_pulls.get(change.branch),
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

    def _contains(self, session: GitHubSession, descendant: str, ancestor: str) -> bool:
        key = (descendant, ancestor)
        if key not in self._ancestry:
            if len(self._ancestry) >= _ANCESTRY_KEPT:
                self._ancestry.clear()
            self._ancestry[key] = session.contains(descendant, ancestor)
        return self._ancestry[key]

    def _wait_flux(self, session: GitHubSession, merge_sha: str, deadline: float) -> None:
        """Until Flux applied ``merge_sha`` or a commit after it (Flux applies the newest
        head); Flux's own words at once when it says it cannot."""
        kustomization = self.environment.config.flux.kustomization
        if kustomization is None:
            return
        timing, view = self.adapters.timing, self.adapters.cluster
        namespace, name = kustomization.namespace, kustomization.name
        view.request_reconcile(namespace, name, merge_sha)  # (any new value will do)
        while True:
            flux = view.kustomization(namespace, name)
            if flux is not None:
                applied = flux.applied_commit
                if applied and self._contains(session, applied, merge_sha):
                    return
                failure, attempted = flux.failure, flux.attempted_commit
                if failure and attempted and self._contains(session, attempted, merge_sha):
                    raise errors.FluxFailed(
                        f"Flux cannot apply {merge_sha[:12]}: Kustomization {namespace}/{name} "
                        f"is not ready ({failure.reason}): {failure.message}"[:1000]
                    )
            if timing.monotonic() >= deadline:
                seen = flux.last_applied if flux else "no such Kustomization"
                raise errors.SyncTimedOut(
                    f"Kustomization {namespace}/{name} has not applied {merge_sha[:12]} "
                    f"within {self.adapters.sync_timeout:.0f}s of the merge (it has {seen})"
                )
            timing.sleep(timing.poll)

    def _wait_applied(
        self,
        session: GitHubSession,
        report: EnvironmentReport,
        wave: _Wave,
        *,
        ready: bool,
        delivery: Delivery,
    ) -> None:
        timing = self.adapters.timing
        deadline = timing.monotonic() + self.adapters.sync_timeout
        view = self.adapters.cluster
        if delivery.status == "merged" and delivery.merge_sha:
            self._wait_flux(session, delivery.merge_sha, deadline)
        while True:
            behind = [
                s.key
                for s in wave.services
                if view.scaled_object_min(*self._in_cluster(s)) != (wave.targets[s.key] or 0)
            ]
            if not behind:
                break
            if timing.monotonic() >= deadline:
                raise errors.SyncTimedOut(
                    f"the cluster has not applied minReplicaCount for {', '.join(behind)} "
                    f"within {self.adapters.sync_timeout:.0f}s"
                )
            timing.sleep(timing.poll)
        if not ready:
            return
        began = timing.monotonic()
        deadline = began + self.adapters.ready_timeout
        refused_since: dict[str, float] = {}  # KEDA said it cannot scale it, since
        while True:
            waiting, refusals = [], []
            for service in wave.services:
                where = self._in_cluster(service)
                ready_now, wanted = view.deployment_ready(*where)
                # all the pods KEDA was asked for, and the rollout done
                if ready_now >= max(wanted, wave.targets[service.key] or 0, 1):
                    refused_since.pop(service.key, None)
                    continue
                waiting.append(service.key)
                keda = view.scaled_object_ready(*where)
                if keda is not None and keda.status == "False":
                    since = refused_since.setdefault(service.key, timing.monotonic())
                    refusals.append(
                        (
                            since,
                            f"KEDA cannot scale {'/'.join(where)} ({keda.reason}): {keda.message}",
                        )
                    )
                else:
                    refused_since.pop(service.key, None)
            if not waiting:
                break
            now = timing.monotonic()
            said = "; ".join(words for _, words in refusals)
            if now >= deadline or any(
                now - since >= self.adapters.keda_grace for since, _ in refusals
            ):
                raise errors.ServicesNotReady(
                    f"{', '.join(waiting)} not ready after {now - began:.0f}s"
                    + (f": {said}" if said else "")
                )
            timing.sleep(timing.poll)
        if delivery.status == "merged":
            report.step("ServicesReady", f"wave ready: {', '.join(s.key for s in wave.services)}")
