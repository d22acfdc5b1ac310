"""Status and events of EnvironmentWakes, written to the Kubernetes API over HTTP."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp

from envwake import errors
from envwake.model.cluster import REQUESTED_AT, Condition, FluxStatus
from envwake.reconciler.report import Step

__all__ = ["RETRY_DELAYS", "ApiSink", "KubernetesClusterView"]

logger = logging.getLogger("envwake")
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)  # seconds between tries of a write the server refused
_PASSING = {409, 429, 500, 502, 503, 504}


def _retry_after(header: str | None, default: float) -> float:
    try:
        return min(float(header), 10.0) if header else default
    except ValueError:
        return default


class ApiSink:
    """Merge-patches ``/status``, posts ``v1`` Events (one line each, no secrets), lists
    and deletes EnvironmentWakes."""

    def __init__(
        self, server: str, *, headers: Mapping[str, str] | None = None, ssl: Any = None
    ) -> None:
        self.server = server.rstrip("/")
        self.headers = dict(headers or {})
        self.ssl = ssl

    async def write_status(self, body: Mapping[str, Any], status: Mapping[str, Any]) -> None:
        await self._send(
            "PATCH",
            f"{self._wake_url(body)}/status",
            {"status": status},
            content_type="application/merge-patch+json",
            missing_ok=True,  # deleted meanwhile
        )

    def _wake_url(self, body: Mapping[str, Any]) -> str:
        meta = body["metadata"]
        api_version = body.get("apiVersion", "envwake.dev/v1alpha1")
        return (
            f"{self.server}/apis/{api_version}/namespaces/{meta['namespace']}/environmentwakes/"
            f"{meta['name']}"
        )

    async def delete(self, body: Mapping[str, Any]) -> None:
        """Delete the wake (its finalizer runs as for any delete); gone already is fine."""
        uid = (body.get("metadata") or {}).get("uid")
        preconditions = {"preconditions": {"uid": uid}} if uid else {}
        await self._send(
            "DELETE",
            self._wake_url(body),
            {"kind": "DeleteOptions", "apiVersion": "v1", **preconditions},
            content_type="application/json",
            missing_ok=True,
        )

    async def list_wakes(self, namespaces: Sequence[str]) -> list[dict[str, Any]]:
        """Every EnvironmentWake in ``namespaces`` (all namespaces when empty)."""
        base = f"{self.server}/apis/envwake.dev/v1alpha1"
        urls = (
            [f"{base}/namespaces/{n}/environmentwakes" for n in namespaces]
            if namespaces
            else [f"{base}/environmentwakes"]
        )
        items: list[dict[str, Any]] = []
        try:
            return await self._list(urls, items)
        except aiohttp.ClientError as exc:
            raise errors.KubernetesRequestFailed(
                f"the API server could not be reached to list EnvironmentWakes "
                f"({type(exc).__name__})",
                transient=True,
            ) from exc

    async def _list(self, urls: list[str], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        async with aiohttp.ClientSession(headers=self.headers) as http:
            for url in urls:
                async with http.get(url, ssl=self.ssl) as response:
                    if response.status >= 400:
                        raise errors.KubernetesRequestFailed(
                            f"the API server answered {response.status} to listing "
                            f"{url.removeprefix(self.server)}",
                            status=response.status,
                            transient=response.status in _PASSING,
                        )
                    listing = await response.json()
                items += [
                    {"apiVersion": "envwake.dev/v1alpha1", "kind": "EnvironmentWake", **item}
                    for item in listing.get("items") or []
                ]
        return items

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
        what = f"{method} {url.removeprefix(self.server)}"
        for delay in (*RETRY_DELAYS, None):
            try:
                async with (
                    aiohttp.ClientSession(headers=self.headers) as http,
                    http.request(
                        method,
                        url,
                        json=payload,
                        headers={"Content-Type": content_type},
                        ssl=self.ssl,
                    ) as response,
                ):
                    if response.status == 404 and missing_ok:
                        return
                    if response.status < 400:
                        return
                    passing = response.status in _PASSING
                    if not passing or delay is None:
                        raise errors.KubernetesRequestFailed(
                            f"the API server answered {response.status} to {what}",
                            status=response.status,
                            transient=passing,
                        )
                    wait = _retry_after(response.headers.get("Retry-After"), delay)
            except aiohttp.ClientError as exc:
                if delay is None:
                    raise errors.KubernetesRequestFailed(
                        f"the API server could not be reached for {what} ({type(exc).__name__})",
                        transient=True,
                    ) from exc
                wait = delay
            await asyncio.sleep(wait)


class KubernetesClusterView:
    """What the cluster applied, read through the Kubernetes API (from a worker thread):
    ScaledObjects, Deployments and the Flux Kustomization. A failed read is
    ``ClusterUnreadable`` (transient), never a library's exception."""

    def __init__(self, api_client: Any) -> None:
        from kubernetes import client

        self._custom_api = client.CustomObjectsApi(api_client)
        self._apps = client.AppsV1Api(api_client)
        self._errors = client.exceptions.ApiException

    def _read(self, what: str, read: Callable[[], Any]) -> Any:
        """``read()``, or None when the object does not exist."""
        try:
            return read()
        except self._errors as exc:
            if exc.status == 404:
                return None
            raise errors.ClusterUnreadable(
                f"reading {what} failed: the API server answered {exc.status} {exc.reason}"
            ) from exc
        except Exception as exc:  # the client's transport (urllib3): unreachable, timed out
            raise errors.ClusterUnreadable(f"reading {what} failed: {type(exc).__name__}") from exc

    def _custom(self, group: str, version: str, plural: str, namespace: str, name: str) -> Any:
        return self._read(
            f"{plural} {namespace}/{name}",
            lambda: self._custom_api.get_namespaced_custom_object(
                group, version, namespace, plural, name
            ),
        )

    def scaled_object_min(self, namespace: str, name: str) -> int | None:
        obj = self._custom("keda.sh", "v1alpha1", "scaledobjects", namespace, name)
        if obj is None:
            return None
        value = (obj.get("spec") or {}).get("minReplicaCount")
        return value if isinstance(value, int) else 0  # absent: KEDA's default

    def scaled_object_ready(self, namespace: str, name: str) -> Condition | None:
        obj = self._custom("keda.sh", "v1alpha1", "scaledobjects", namespace, name)
        return _conditions(obj).get("Ready") if obj is not None else None

    def kustomization(self, namespace: str, name: str) -> FluxStatus | None:
        obj = self._custom("kustomize.toolkit.fluxcd.io", "v1", "kustomizations", namespace, name)
        if obj is None:
            return None
        status = obj.get("status") or {}
        conditions = _conditions(obj)
        return FluxStatus(
            status.get("lastAppliedRevision") or None,
            status.get("lastAttemptedRevision") or None,
            conditions.get("Ready"),
            conditions.get("Stalled"),
        )

    def request_reconcile(self, namespace: str, name: str, token: str) -> None:
        patch = {"metadata": {"annotations": {REQUESTED_AT: token}}}
        flux = self._custom("kustomize.toolkit.fluxcd.io", "v1", "kustomizations", namespace, name)
        source = ((flux or {}).get("spec") or {}).get("sourceRef") or {}
        asked = [("kustomize.toolkit.fluxcd.io", namespace, "kustomizations", name)]
        if source.get("kind") == "GitRepository" and source.get("name"):  # the source first
            where = source.get("namespace") or namespace
            asked.insert(0, ("source.toolkit.fluxcd.io", where, "gitrepositories", source["name"]))
        for group, where, plural, called in asked if flux is not None else []:
            try:
                self._custom_api.patch_namespaced_custom_object(
                    group, "v1", where, plural, called, patch
                )
            except self._errors as exc:  # Flux's interval will do it
                logger.info(
                    "could not ask Flux to reconcile %s %s/%s now (%s %s): it applies the "
                    "merge at its interval", plural, where, called, exc.status, exc.reason,
                )  # fmt: skip
            except Exception as exc:  # the client's transport (urllib3): unreachable, timed out
                logger.info(
                    "could not ask Flux to reconcile %s %s/%s now (%s): it applies the "
                    "merge at its interval", plural, where, called, type(exc).__name__,
                )  # fmt: skip

    def deployment_ready(self, namespace: str, name: str) -> tuple[int, int]:
        deployment = self._read(
            f"deployment {namespace}/{name}",
            lambda: self._apps.read_namespaced_deployment(name, namespace),
        )
        if deployment is None:
            return 0, 0
        wanted = int(deployment.spec.replicas or 0) if deployment.spec else 0
        ready = int(deployment.status.ready_replicas or 0) if deployment.status else 0
        return ready, wanted


def _conditions(obj: Mapping[str, Any]) -> dict[str, Condition]:
    """An object's ``status.conditions`` by type."""
    return {
        str(c.get("type")): Condition(
            str(c.get("status", "Unknown")), str(c.get("reason", "")), str(c.get("message", ""))
        )
        for c in (obj.get("status") or {}).get("conditions") or []
        if isinstance(c, dict)
    }
