"""Flux, KEDA and the kubelet for the local stack: what is merged gets applied, the
normal schedule scales the services, pods become ready.

Flux: it looks at the branch every ``interval`` (virtual seconds; 0: at every
``tick``), or at once when the Kustomization's ``reconcile.fluxcd.io/requestedAt``
annotation changes (what ``flux reconcile`` does; the value handled is written back as
``status.lastHandledReconcileAt``), and applies the NEWEST head of the branch, as Flux
does, so when someone merges right after envwake only a descendant of envwake's merge
is ever applied. ``lag`` delays each new head (a slow source fetch): meanwhile
``Reconciling`` is True. The Kustomization's status says it as Flux writes it:
``lastAppliedRevision``/``lastAttemptedRevision`` as ``<branch>@sha1:<sha>``, and the
``Ready``, ``Reconciling`` and ``Stalled`` conditions (Ready=True
ReconciliationSucceeded; or Ready=False BuildFailed with a Flux-shaped message when a
manifest does not build, or with the message given to ``fail``, Stalled too when the
failure is one Flux gives up on; the last good revision stays applied). ``suspended``
applies nothing (``spec.suspend``). Reading never syncs: between ticks the cluster
shows the last apply.

KEDA: a ScaledObject scales its Deployment to ``minReplicaCount`` (absent: 0), or to its
cron trigger's ``desiredReplicas`` while the trigger is active, and for
``cooldownPeriod`` (default 300 s) after. Whether a trigger is active is decided as
KEDA's cron scaler decides it (the next end firing comes before the next start), on
the stack's wall clock; without one (``wall=None``) cron triggers never activate.

Kubelet: a Deployment's pods are ready ``ready_after`` seconds after it asked for more.
Cooldown and readiness count on the wall clock when there is one (so that a clock that
leaps ahead finds pods asked for hours ago ready), else on ``clock``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests
import ruamel.yaml
from ruamel.yaml.error import YAMLError

from envwake.errors import ManifestError
from envwake.manifests import ScaledObjectSummary, summarize
from envwake.model.cluster import REQUESTED_AT, Condition, FluxStatus
from envwake.model.environment import ServiceEntry
from envwake.model.loading import Environment
from envwake.planning.windows import next_firing
from envwake.sandbox.github.gitstore import GitStore

__all__ = ["FluxKeda", "Workload", "keda_cron_active"]

DEFAULT_COOLDOWN = 300.0  # KEDA's cooldownPeriod default
KUSTOMIZATION_API = "kustomize.toolkit.fluxcd.io/v1"
SOURCE_API = "source.toolkit.fluxcd.io/v1"


def keda_cron_active(start: str, end: str, timezone: str, at: datetime) -> bool:
    """Whether a KEDA cron trigger is active at ``at``: as KEDA's cron scaler has it,
    when the next ``end`` firing is not later than the next ``start`` firing."""
    return _cron_activity(start, end, timezone, at)[0]


def _cron_activity(start: str, end: str, timezone: str, at: datetime) -> tuple[bool, datetime]:
    """Whether the trigger is active at ``at``, and until when that holds (the next
    firing of either)."""
    zone = ZoneInfo(timezone)
    next_start, next_end = next_firing(start, at, zone), next_firing(end, at, zone)
    return next_end <= next_start, min(next_start, next_end)


@dataclass
class Workload:
    min_replicas: int  # minReplicaCount as applied (absent: 0)
    desired_replicas: int  # what the cron trigger wants while active
    triggers: tuple[tuple[str, str, str], ...] = ()  # (start, end, timezone)
    cooldown: float = DEFAULT_COOLDOWN
    wanted: int = 0  # replicas KEDA set on the Deployment
    ready_at: float | None = None  # when all its pods are ready (None: none wanted)
    ready_before: int = 0  # pods ready until then (those that were before it asked for more)
    active_until: float | None = None  # the cooldown after the trigger was last active


class FluxKeda:
    def __init__(
        self,
        environment: Environment,
        store: GitStore,
        *,
        branch: str = "master",
        ready_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] | None = None,
        kubernetes_url: str | None = None,
        kubernetes_session: requests.Session | None = None,
        paused: bool = False,
        interval: float = 0.0,
        lag: float = 0.0,
    ) -> None:
        self.environment = environment
        self.store = store
        self.branch = branch
        self.ready_after = ready_after
        self.clock = clock
        self.wall = wall
        self.kubernetes_url = kubernetes_url  # also apply into a Kubernetes API (the emulator)
        # how to talk to it (a real API server wants TLS and a client certificate)
        self.http = kubernetes_session or requests.Session()
        self.paused = paused  # a suspended Flux applies nothing
        self.interval = interval  # virtual seconds between looks at the branch
        self.lag = lag  # virtual seconds from a new head to its apply
        self.failure: tuple[str, bool] | None = None  # (message, stalled) while told to fail
        self.handled_request: str | None = None  # the last requestedAt value acted on
        self._requested_in_process: str | None = None
        self._looked_at: float | None = None  # when Flux last looked at the branch
        self._seen: tuple[str, float] | None = None  # (a new head, when it was first seen)
        self.reconciling: Condition | None = None
        self._activity: dict[tuple[str, str, str], tuple[bool, datetime, datetime]] = {}
        self.stalled: Condition | None = None
        self.applied_commit: str | None = None
        self.attempted_commit: str | None = None
        self.applied: list[str] = []  # every commit applied, in order
        self.ready = Condition("Unknown", "Progressing", "reconciliation in progress")
        self.workloads: dict[str, Workload] = {}
        self._documents: dict[str, list[dict[str, Any]]] = {}  # path: its ScaledObjects
        self._blobs: dict[str, tuple[str | None, str, list[Any]]] = {}  # parsed, by blob id
        self._reported: dict[str, tuple[int, int]] = {}  # Deployment readiness last written
        self._settled = False  # the first tick finds pods up that would have been up already
        # service key → KEDA's Ready=False condition, while KEDA cannot scale it (say its
        # scaleTargetRef names no Deployment): its replicas are left as they are
        self.cannot_scale: dict[str, Condition] = {}

    # -- Flux ------------------------------------------------------------------------------

    def fail(self, message: str, *, stalled: bool = False) -> None:
        """From now on every apply fails with ``message`` (Ready=False, BuildFailed); a
        stalled Flux has given up retrying (Stalled=True) until it is told to recover."""
        self.failure = (message, stalled)
        self.attempted_commit = None  # the next look tries, and fails, at once

    def recover(self) -> None:
        self.failure = None
        self.attempted_commit = None

    def suspend(self, suspended: bool = True) -> None:
        self.paused = suspended
        self._write_kustomization()

    def pending(self) -> bool:
        """Whether the next ticks will change something by themselves: a head not applied
        yet, or pods on their way to ready."""
        if not self.paused and self.store.ref(self.branch) != self.attempted_commit:
            return True
        now = self._seconds()
        return any(w.ready_at is not None and w.ready_at > now for w in self.workloads.values())

    def _due(self, now: float) -> bool:
        """Whether Flux looks at the branch now: its interval passed, or someone asked."""
        requested = self._requested_at()
        if requested is not None and requested != self.handled_request:
            self.handled_request = requested
            return True
        return self._looked_at is None or now - self._looked_at >= self.interval

    def sync(self) -> None:
        """Apply the newest head of the branch, if it is new (and its lag has passed)."""
        now = self._seconds()
        if self.paused:
            return
        # (what Flux would find at its next look: nothing new is nothing to do, however
        # asked; so the annotation is read only when there is something to fetch)
        revision = self.store.ref(self.branch)
        if revision is None or revision == self.attempted_commit:
            self._seen = None
            return
        if self._seen is None and not self._due(now):
            return
        self._looked_at = now
        if self._seen is None or self._seen[0] != revision:
            self._seen = (revision, now)
        if now - self._seen[1] < self.lag:
            if self.reconciling is None:
                self.reconciling = Condition(
                    "True",
                    "ProgressingWithRetry",
                    f"Fetching manifests for revision "
                    f"{self._revision(revision)} with a timeout of 4m30s",
                )
                self._write_kustomization()
            return
        self._seen = None
        self.attempted_commit = revision
        self.reconciling = None
        if self.failure is not None:
            message, stalled = self.failure
            self.ready = Condition("False", "BuildFailed", message)
            self.stalled = Condition("True", "BuildFailed", message) if stalled else None
            self._write_kustomization()
            return
        self.stalled = None
        try:
            built = self._build(revision)
        except ManifestError as exc:
            # as kustomize-controller 1.9 words it (tests/cluster): Ready False, and
            # Reconciling left True while it retries
            self.ready = Condition("False", "BuildFailed", str(exc))
            self.reconciling = Condition(
                "True",
                "ProgressingWithRetry",
                f"Building manifests for revision {self._revision(revision)} "
                "with a timeout of 4m30s",
            )
            self._write_kustomization()
            return
        for key, (summary, documents) in built.items():
            current = self.workloads.get(key)
            triggers = tuple(
                (t.start, t.end, t.timezone) for t in summary.cron_triggers if t.timezone
            )
            minimum = summary.min_replicas if isinstance(summary.min_replicas, int) else 0
            desired = max((t.desired_replicas for t in summary.cron_triggers), default=0)
            if current is None:
                self.workloads[key] = Workload(minimum, desired, triggers)
            else:
                current.min_replicas, current.desired_replicas = minimum, desired
                current.triggers = triggers
            self._documents[key] = documents
        self.applied_commit = revision
        self.applied.append(revision)
        self.ready = Condition(
            "True", "ReconciliationSucceeded", f"Applied revision: {self._revision(revision)}"
        )
        if self.kubernetes_url:
            self._apply()
        self._write_kustomization()

    def _build(self, revision: str) -> dict[str, tuple[ScaledObjectSummary, list[dict[str, Any]]]]:
        """Like ``kustomize build``: every YAML file of the tree must parse; then each
        service's ScaledObject, summarised. What a file holds is worked out once per
        blob: a commit changes a file or two of the tree."""
        listing = self.store.git("ls-tree", "-r", revision).splitlines()
        blobs = {}
        for line in listing:
            meta, path = line.split("\t", 1)
            blobs[path] = meta.split()[2]
        for path in sorted(blobs):
            if path.endswith((".yaml", ".yml")):
                problem = self._parsed(blobs[path])[0]
                if problem is not None:
                    raise ManifestError(
                        f"failed to decode Kubernetes YAML from /tmp/kustomization-0/{path}: "
                        f"MalformedYAMLError: {problem}"
                    )
        built = {}
        for service in self.environment.services:
            path = service.manifest.scaled_object.path
            if path not in blobs:
                continue  # nothing to apply for it
            _, text, documents = self._parsed(blobs[path])
            summary = summarize(text, source=path, name=service.service_name)
            scaled = [
                d for d in documents if isinstance(d, dict) and d.get("kind") == "ScaledObject"
            ]
            built[service.key] = (summary, scaled)
        return built

    def _parsed(self, blob: str) -> tuple[str | None, str, list[Any]]:
        """A blob's problem (None: it parses), text and documents."""
        if blob not in self._blobs:
            text = self.store.git("cat-file", "blob", blob, strip=False)
            try:
                parsed = list(ruamel.yaml.YAML(typ="safe", pure=True).load_all(text))
                self._blobs[blob] = (None, text, parsed)
            except YAMLError as exc:
                why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self._blobs[blob] = (why, text, [])
        problem, text, documents = self._blobs[blob]
        return problem, text, copy.deepcopy(documents)

    def _revision(self, commit: str | None) -> str | None:
        return f"{self.branch}@sha1:{commit}" if commit else None

    # -- KEDA and the kubelet ----------------------------------------------------------------

    def _seconds(self) -> float:
        return self.wall().timestamp() if self.wall else self.clock()

    def _trigger_active(self, trigger: tuple[str, str, str], at: datetime) -> bool:
        """keda_cron_active, worked out again only once a firing has passed."""
        known = self._activity.get(trigger)
        if known is None or not known[1] <= at < known[2]:
            active, until = _cron_activity(*trigger, at)
            known = self._activity[trigger] = (active, at, until)
        return known[0]

    def tick(self) -> None:
        """Flux's interval, KEDA's polling and the kubelet: sync, scale, report."""
        self.sync()
        now = self._seconds()
        wall = self.wall() if self.wall else None
        for key, workload in self.workloads.items():
            if key in self.cannot_scale:
                continue
            active = wall is not None and any(
                self._trigger_active(trigger, wall) for trigger in workload.triggers
            )
            if active:
                workload.active_until = now + workload.cooldown
            cooling = workload.active_until is not None and now < workload.active_until
            wanted = max(workload.min_replicas, workload.desired_replicas if cooling else 0)
            if wanted != workload.wanted:
                more = wanted > workload.wanted
                ready_now = self._ready(workload, now)
                workload.wanted = wanted
                if not wanted:
                    workload.ready_at, workload.ready_before = None, 0
                elif more or workload.ready_at is None:
                    # the pods that were ready stay ready; the new ones take their time
                    workload.ready_before = ready_now
                    workload.ready_at = now + (self.ready_after if self._settled else 0.0)
        self._settled = self._settled or bool(self.workloads)
        if self.kubernetes_url:
            for service in self.environment.services:
                namespace, name = self._in_cluster(service)
                ready, wanted = self.deployment_ready(namespace, name)
                if self._reported.get(service.key) == (ready, wanted):
                    continue  # the kubelet reports changes, not every tick
                self._reported[service.key] = (ready, wanted)
                self._patch(
                    "apps/v1", "deployments", namespace, name, {"spec": {"replicas": wanted}}
                )
                self._patch(
                    "apps/v1",
                    "deployments",
                    namespace,
                    f"{name}/status",
                    # (absent at 0, as the controllers leave them: merge-patch null)
                    {"status": {"readyReplicas": ready or None, "replicas": wanted or None}},
                )

    # -- writing into a Kubernetes API -------------------------------------------------------

    def _apply(self) -> None:
        for service in self.environment.services:
            namespace, name = self._in_cluster(service)
            for document in self._documents.get(service.key, []):
                document["metadata"]["namespace"] = namespace
                document["metadata"]["name"] = name
                document.setdefault("spec", {}).setdefault("scaleTargetRef", {})["name"] = name
                self._upsert("keda.sh/v1alpha1", "scaledobjects", namespace, document)
            labels = {"app": service.service_name}
            deployment = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "replicas": self.workloads[service.key].wanted,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "containers": [
                                {"name": service.service_name, "image": "sandbox:latest"}
                            ]
                        },
                    },
                },
            }
            self._upsert("apps/v1", "deployments", namespace, deployment, spec=False)

    def _requested_at(self) -> str | None:
        """The ``reconcile.fluxcd.io/requestedAt`` values of the GitRepository and the
        Kustomization (read only when there is a new head to fetch: at interval 0 Flux
        looks at every tick anyway, but still records the request it handled)."""
        kustomization = self.environment.config.flux.kustomization
        if kustomization is None:
            return None
        if not self.kubernetes_url:
            return self._requested_in_process
        values = []
        for api, plural in ((SOURCE_API, "gitrepositories"), (KUSTOMIZATION_API, "kustomizations")):
            url = self._url(api, plural, kustomization.namespace, kustomization.name)
            found = self.http.get(url, timeout=10)
            if found.status_code == 200:
                annotations = found.json().get("metadata", {}).get("annotations") or {}
                values.append(annotations.get(REQUESTED_AT) or "")
        return "|".join(values) if any(values) else None

    def _write_kustomization(self) -> None:
        kustomization = self.environment.config.flux.kustomization
        if kustomization is None or not self.kubernetes_url:
            return
        interval = f"{max(self.interval, 60.0) / 60:.0f}m"
        ref = {
            "apiVersion": KUSTOMIZATION_API,
            "kind": "Kustomization",
            "metadata": {"name": kustomization.name, "namespace": kustomization.namespace},
            "spec": {
                "interval": interval,
                "path": "./",
                "prune": True,
                "suspend": self.paused,
                "sourceRef": {"kind": "GitRepository", "name": kustomization.name},
            },
        }
        self._upsert(KUSTOMIZATION_API, "kustomizations", kustomization.namespace, ref)
        source = {
            "apiVersion": SOURCE_API,
            "kind": "GitRepository",
            "metadata": {"name": kustomization.name, "namespace": kustomization.namespace},
            "spec": {"interval": interval, "ref": {"branch": self.branch}},
        }
        self._upsert(SOURCE_API, "gitrepositories", kustomization.namespace, source)
        status = self.kustomization(kustomization.namespace, kustomization.name)
        ready = status.ready or self.ready
        at = _rfc3339(self.wall() if self.wall else None)
        conditions = [
            ("Ready", ready),
            ("Reconciling", self.reconciling),
            ("Stalled", status.stalled),
        ]
        self._patch(
            KUSTOMIZATION_API,
            "kustomizations",
            kustomization.namespace,
            f"{kustomization.name}/status",
            {
                "status": {
                    "lastAppliedRevision": status.last_applied,
                    "lastAttemptedRevision": status.last_attempted,
                    # (real Flux: the Kustomization's own requestedAt value it acted on)
                    "lastHandledReconcileAt": (self.handled_request or "").split("|")[-1] or None,
                    "conditions": [
                        {
                            "type": kind,
                            "status": condition.status,
                            "reason": condition.reason,
                            "message": condition.message,
                            "lastTransitionTime": at,
                        }
                        for kind, condition in conditions
                        if condition is not None
                    ],
                }
            },
        )

    def _url(self, api_version: str, plural: str, namespace: str, name: str | None = None) -> str:
        prefix = "api" if "/" not in api_version else "apis"
        url = f"{self.kubernetes_url}/{prefix}/{api_version}/namespaces/{namespace}/{plural}"
        return f"{url}/{name}" if name else url

    def _upsert(
        self,
        api_version: str,
        plural: str,
        namespace: str,
        body: dict[str, Any],
        *,
        spec: bool = True,
    ) -> None:
        name = body["metadata"]["name"]
        existing = self.http.get(self._url(api_version, plural, namespace, name), timeout=10)
        if existing.status_code == 404:
            self.http.post(
                self._url(api_version, plural, namespace), json=body, timeout=10
            ).raise_for_status()
        elif spec:
            # Flux applies the whole object: a field the manifest no longer has goes too.
            wanted = dict(body.get("spec") or {})
            gone = {k: None for k in (existing.json().get("spec") or {}) if k not in wanted}
            self._patch(api_version, plural, namespace, name, {"spec": {**wanted, **gone}})

    def _patch(
        self, api_version: str, plural: str, namespace: str, name: str, patch: dict[str, Any]
    ) -> None:
        self.http.patch(
            self._url(api_version, plural, namespace, name),
            json=patch,
            timeout=10,
            headers={"Content-Type": "application/merge-patch+json"},
        ).raise_for_status()

    # -- ClusterView -------------------------------------------------------------------------

    def _in_cluster(self, service: ServiceEntry) -> tuple[str, str]:
        """The service's (namespace, name) once the overlay renamed it, as kustomize does."""
        return self.environment.config.flux.overlay.in_cluster(
            service.namespace, service.service_name
        )

    def _key_at(self, namespace: str, name: str) -> str | None:
        """The key of the service the cluster has at ``namespace/name``."""
        for service in self.environment.services:
            if self._in_cluster(service) == (namespace, name):
                return service.key
        return None

    def _workload_at(self, namespace: str, name: str) -> Workload | None:
        key = self._key_at(namespace, name)
        return self.workloads.get(key) if key else None

    def scaled_object_min(self, namespace: str, name: str) -> int | None:
        workload = self._workload_at(namespace, name)
        return workload.min_replicas if workload else None

    def scaled_object_ready(self, namespace: str, name: str) -> Condition | None:
        """KEDA's Ready condition (False while told it ``cannot_scale`` the service)."""
        key = self._key_at(namespace, name)
        if key in self.cannot_scale:
            return self.cannot_scale[key]
        if key is None or key not in self.workloads:
            return None
        return Condition(
            "True",
            "ScaledObjectReady",
            "ScaledObject is defined correctly and is ready for scaling",
        )

    def deployment_ready(self, namespace: str, name: str) -> tuple[int, int]:
        """(ready replicas, wanted replicas) of the Deployment at ``namespace/name``."""
        workload = self._workload_at(namespace, name)
        if workload is None or not workload.wanted:
            return 0, 0
        return self._ready(workload, self._seconds()), workload.wanted

    @staticmethod
    def _ready(workload: Workload, now: float) -> int:
        if not workload.wanted:
            return 0
        if workload.ready_at is not None and workload.ready_at <= now:
            return workload.wanted
        return min(workload.ready_before, workload.wanted)

    def request_reconcile(self, namespace: str, name: str, token: str) -> None:
        """(Used as the reconciler's ClusterView: the annotation, without an API.)"""
        self._requested_in_process = token

    def kustomization(self, namespace: str, name: str) -> FluxStatus:
        """The Kustomization's status, as Flux writes it."""
        return FluxStatus(
            self._revision(self.applied_commit),
            self._revision(self.attempted_commit),
            self.ready,
            self.stalled,
        )


def _rfc3339(instant: datetime | None) -> str:
    from datetime import UTC

    return (instant or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
