"""Status and events of EnvironmentWakes, written to the Kubernetes API over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp

from envwake.reconciler.report import Step

__all__ = ["RETRY_DELAYS", "ApiSink", "KubernetesClusterView"]

RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)  # seconds between tries of a write the server refused
_PASSING = {409, 429, 500, 502, 503, 504}


def _retry_after(header: str | None, default: float) -> float:
    try:
        return min(float(header), 10.0) if header else default
    except ValueError:
        return default


class ApiSink:
    """Merge-patches ``/status`` and posts ``v1`` Events; one line each, no secrets."""

    def __init__(
        self, server: str, *, headers: Mapping[str, str] | None = None, ssl: Any = None
    ) -> None:
        self.server = server.rstrip("/")
        self.headers = dict(headers or {})
        self.ssl = ssl

    async def write_status(self, body: Mapping[str, Any], status: Mapping[str, Any]) -> None:
        meta = body["metadata"]
        api_version = body.get("apiVersion", "envwake.dev/v1alpha1")
        url = (
            f"{self.server}/apis/{api_version}/namespaces/{meta['namespace']}/environmentwakes/"
            f"{meta['name']}/status"
        )
        await self._send(
            "PATCH",
            url,
            {"status": status},
            content_type="application/merge-patch+json",
            missing_ok=True,  # deleted meanwhile
        )

    async def emit(self, body: Mapping[str, Any], step: Step) -> None:
        meta = body["metadata"]
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}-", "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": body.get("apiVersion", "envwake.dev/v1alpha1"),
                "kind": body.get("kind", "EnvironmentWake"),
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta.get("uid"),
            },
            "reason": step.reason,
            "message": step.message.replace("\n", " ")[:1024],
            "type": step.type,
            "source": {"component": "envwake"},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        url = f"{self.server}/api/v1/namespaces/{meta['namespace']}/events"
        await self._send("POST", url, event, content_type="application/json")

    async def _send(
        self,
        method: str,
        url: str,
        payload: Mapping[str, Any],
        *,
        content_type: str,
        missing_ok: bool = False,
    ) -> None:
        """One write; a conflict, throttling or a passing server error is tried again a few
        times (a merge patch carries no resourceVersion, so the retry applies as is)."""
        for delay in (*RETRY_DELAYS, None):
            async with (
                aiohttp.ClientSession(headers=self.headers) as http,
                http.request(
                    method, url, json=payload, headers={"Content-Type": content_type}, ssl=self.ssl
                ) as response,
            ):
                if response.status == 404 and missing_ok:
                    return
                if response.status not in _PASSING or delay is None:
                    response.raise_for_status()
                    return
                wait = _retry_after(response.headers.get("Retry-After"), delay)
            await asyncio.sleep(wait)


class KubernetesClusterView:
    """What the cluster applied, read through the Kubernetes API (from a worker thread):
    the ScaledObjects' ``minReplicaCount`` and the Deployments' ready replicas."""

    def __init__(self, api_client: Any) -> None:
        from kubernetes import client

        self._custom_api = client.CustomObjectsApi(api_client)
        self._apps = client.AppsV1Api(api_client)
        self._errors = client.exceptions.ApiException

    def _custom(self, group: str, version: str, plural: str, namespace: str, name: str) -> Any:
        """The object, or None when it does not exist."""
        try:
            return self._custom_api.get_namespaced_custom_object(
                group, version, namespace, plural, name
            )
        except self._errors as exc:
            if exc.status == 404:
                return None
            raise

    def scaled_object_min(self, namespace: str, name: str) -> int | None:
        obj = self._custom("keda.sh", "v1alpha1", "scaledobjects", namespace, name) or {}
        value = (obj.get("spec") or {}).get("minReplicaCount")
        return value if isinstance(value, int) else None

    def applied_revision(self, namespace: str, name: str) -> str | None:
        """The Flux Kustomization's ``status.lastAppliedRevision``."""
        obj = (
            self._custom("kustomize.toolkit.fluxcd.io", "v1", "kustomizations", namespace, name)
            or {}
        )
        revision = (obj.get("status") or {}).get("lastAppliedRevision")
        return str(revision) if revision else None

    def deployment_ready(self, namespace: str, name: str) -> tuple[int, int]:
        try:
            deployment = self._apps.read_namespaced_deployment(name, namespace)
        except self._errors as exc:
            if exc.status == 404:
                return 0, 0
            raise
        wanted = int(deployment.spec.replicas or 0) if deployment.spec else 0
        ready = int(deployment.status.ready_replicas or 0) if deployment.status else 0
        return ready, wanted
