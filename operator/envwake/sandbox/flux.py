"""Flux and KEDA/kubelet for the local stack: applies what is merged, marks pods ready.

After each change of the base branch it applies the environment's ScaledObjects and
Deployments from the bare repository to an in-memory cluster, records the applied
revision (like a Kustomization's ``status.lastAppliedRevision``), and reports a
Deployment ready ``ready_after`` seconds (on an injectable clock) after its
ScaledObject asked for more pods. It syncs lazily, when it is looked at, like a Flux
that reconciles on every read instead of on an interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
import ruamel.yaml

from envwake.manifests import summarize
from envwake.model.loading import Environment
from envwake.sandbox.github.gitstore import GitStore

__all__ = ["FluxKeda", "Workload"]


@dataclass
class Workload:
    min_replicas: int | None
    desired_replicas: int  # what KEDA's cron trigger wants during its window
    ready_at: float | None = None  # when the pods are ready (None: scaled to zero)


class FluxKeda:
    def __init__(
        self,
        environment: Environment,
        store: GitStore,
        *,
        branch: str = "master",
        ready_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        kubernetes_url: str | None = None,
        kubernetes_session: requests.Session | None = None,
        paused: bool = False,
    ) -> None:
        self.environment = environment
        self.store = store
        self.branch = branch
        self.ready_after = ready_after
        self.clock = clock
        self.kubernetes_url = kubernetes_url  # also apply into a Kubernetes API (the emulator)
        # how to talk to it (a real API server wants TLS and a client certificate)
        self.http = kubernetes_session or requests.Session()
        self.paused = paused  # a stuck Flux applies nothing
        self.applied_commit: str | None = None
        self.workloads: dict[str, Workload] = {}
        self._reported: dict[str, tuple[int, int]] = {}  # Deployment readiness last written

    def sync(self) -> None:
        revision = self.store.ref(self.branch)
        if self.paused or revision is None or revision == self.applied_commit:
            return
        for service in self.environment.services:
            path = service.manifest.scaled_object.path
            summary = summarize(
                self.store.read_file(revision, path), source=path, name=service.service_name
            )
            wanted = summary.min_replicas if isinstance(summary.min_replicas, int) else None
            desired = max((t.desired_replicas for t in summary.cron_triggers), default=0)
            current = self.workloads.get(service.key)
            if current is None or current.min_replicas != wanted:
                ready_at = self.clock() + self.ready_after if wanted else None
                workload = Workload(wanted, desired, ready_at)
                self.workloads[service.key] = workload
        self.applied_commit = revision
        if self.kubernetes_url:
            self._apply(revision)

    def tick(self) -> None:
        """Flux's interval and the kubelet: sync, and report pods that became ready."""
        self.sync()
        if self.kubernetes_url:
            for service in self.environment.services:
                ready, wanted = self.deployment_ready(service.namespace, service.service_name)
                if self._reported.get(service.key) == (ready, wanted):
                    continue  # the kubelet reports changes, not every tick
                self._reported[service.key] = (ready, wanted)
                self._patch(
                    "apps/v1",
                    "deployments",
                    service.namespace,
                    service.service_name,
                    {"spec": {"replicas": wanted}},
                )
                self._patch(
                    "apps/v1",
                    "deployments",
                    service.namespace,
                    f"{service.service_name}/status",
                    {"status": {"readyReplicas": ready, "replicas": wanted}},
                )

    def _apply(self, revision: str) -> None:
        loader = ruamel.yaml.YAML(typ="safe", pure=True)
        for service in self.environment.services:
            path = service.manifest.scaled_object.path
            for document in loader.load_all(self.store.read_file(revision, path)):
                if isinstance(document, dict) and document.get("kind") == "ScaledObject":
                    document["metadata"]["namespace"] = service.namespace
                    self._upsert("keda.sh/v1alpha1", "scaledobjects", service.namespace, document)
            workload = self.workloads[service.key]
            labels = {"app": service.service_name}
            deployment = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": service.service_name, "namespace": service.namespace},
                "spec": {
                    "replicas": workload.min_replicas or 0,
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
            self._upsert("apps/v1", "deployments", service.namespace, deployment)
        kustomization = self.environment.config.flux.kustomization
        if kustomization is not None:
            ref = {
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": kustomization.name, "namespace": kustomization.namespace},
                "spec": {"interval": "1m", "path": "./", "prune": True},
            }
            self._upsert(
                "kustomize.toolkit.fluxcd.io/v1", "kustomizations", kustomization.namespace, ref
            )
            status = {
                "status": {
                    "lastAppliedRevision": self.applied_revision(
                        kustomization.namespace, kustomization.name
                    )
                }
            }
            self._patch(
                "kustomize.toolkit.fluxcd.io/v1",
                "kustomizations",
                kustomization.namespace,
                f"{kustomization.name}/status",
                status,
            )

    def _url(self, api_version: str, plural: str, namespace: str, name: str | None = None) -> str:
        prefix = "api" if "/" not in api_version else "apis"
        url = f"{self.kubernetes_url}/{prefix}/{api_version}/namespaces/{namespace}/{plural}"
        return f"{url}/{name}" if name else url

    def _upsert(self, api_version: str, plural: str, namespace: str, body: dict[str, Any]) -> None:
        name = body["metadata"]["name"]
        existing = self.http.get(self._url(api_version, plural, namespace, name), timeout=10)
        if existing.status_code == 404:
            self.http.post(
                self._url(api_version, plural, namespace), json=body, timeout=10
            ).raise_for_status()
        else:
            self._patch(api_version, plural, namespace, name, {"spec": body.get("spec", {})})

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

    def scaled_object_min(self, namespace: str, name: str) -> int | None:
        self.sync()
        workload = self.workloads.get(f"{namespace}/{name}")
        return workload.min_replicas if workload else None

    def deployment_ready(self, namespace: str, name: str) -> tuple[int, int]:
        """(ready replicas, wanted replicas) of the service's Deployment."""
        self.sync()
        workload = self.workloads.get(f"{namespace}/{name}")
        if workload is None or not workload.min_replicas:
            return 0, 0
        wanted = workload.min_replicas
        ready = wanted if workload.ready_at is not None and workload.ready_at <= self.clock() else 0
        return ready, wanted

    def applied_revision(self, namespace: str, name: str) -> str | None:
        """``status.lastAppliedRevision`` of the Kustomization, as Flux writes it."""
        self.sync()
        return f"{self.branch}@sha1:{self.applied_commit}" if self.applied_commit else None
