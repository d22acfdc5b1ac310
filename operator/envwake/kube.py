"""Status and events of EnvironmentWakes, written to the Kubernetes API over HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp

from envwake.reconciler.report import Step

__all__ = ["ApiSink"]


class ApiSink:
    """Merge-patches ``/status`` and posts ``v1`` Events; one line each, no secrets."""

    def __init__(
        self, server: str, *, headers: Mapping[str, str] | None = None, ssl: Any = None
    ) -> None:
        self.server = server.rstrip("/")
        self.headers = dict(headers or {})
        self.ssl = ssl
        self.events_posted = 0

    async def write_status(self, body: Mapping[str, Any], status: Mapping[str, Any]) -> None:
        meta = body["metadata"]
        api_version = body.get("apiVersion", "envwake.dev/v1alpha1")
        url = (
            f"{self.server}/apis/{api_version}/namespaces/{meta['namespace']}/environmentwakes/"
            f"{meta['name']}/status"
        )
        async with (
            aiohttp.ClientSession(headers=self.headers) as http,
            http.patch(
                url,
                json={"status": status},
                headers={"Content-Type": "application/merge-patch+json"},
                ssl=self.ssl,
            ) as response,
        ):
            if response.status == 404:
                return  # deleted meanwhile
            response.raise_for_status()

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
        async with (
            aiohttp.ClientSession(headers=self.headers) as http,
            http.post(url, json=event, ssl=self.ssl) as response,
        ):
            response.raise_for_status()
            self.events_posted += 1
