"""The Kubernetes API under the operator tests: kmock's emulator, or a real kube-apiserver
(the envtest tier). The same tests run on both; this is all that differs."""

from __future__ import annotations

import asyncio
from typing import Any

import kmock

from envwake.localstack import KubernetesApi
from envwake.sandbox.kubernetes import StampingEmulator

__all__ = ["EmulatedApi", "RealApi"]

WAKES = "/apis/envwake.dev/v1alpha1/namespaces/envwake/environmentwakes"
WAKE_RESOURCE = kmock.resource("envwake.dev", "v1alpha1", "environmentwakes")


class EmulatedApi:
    name = "kmock"

    def __init__(self, emulator: StampingEmulator, url: str) -> None:
        self.emulator, self.url = emulator, url
        self.connection = KubernetesApi(url)
        self.login = self.connection.login
        self.sink = self.connection.status_sink
        self.operator_client = self.connection.operator_client
        self.writer_session = self.connection.writer_session

    def serve_flux_resources(self) -> None:
        for name, kind in (
            ("kustomize.toolkit.fluxcd.io/v1/kustomizations", "Kustomization"),
            ("keda.sh/v1alpha1/scaledobjects", "ScaledObject"),
        ):
            self.emulator.resources[name] = kmock.ResourceInfo(
                kind=kind,
                namespaced=True,
                subresources={"status"},
                verbs={"list", "watch", "get", "create", "patch", "delete"},
            )

    def read(self, group: str, version: str, plural: str, namespace: str, name: str) -> Any:
        key = (kmock.resource(group, version, plural), namespace, name)
        if key not in self.emulator.objects or self.emulator.objects[key].deleted:
            return None
        return self.emulator.objects[key].raw

    def current(self, name: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self.read(
            "envwake.dev", "v1alpha1", "environmentwakes", "envwake", name
        )
        return result

    def events(self, name: str) -> list[tuple[str, str]]:
        return [
            (obj.raw["type"], obj.raw["reason"])
            for (resource, _, _), obj in self.emulator.objects.items()
            if getattr(resource, "plural", "") == "events"
            and not obj.deleted
            and obj.raw.get("involvedObject", {}).get("name") == name
        ]

    async def call(self, method: str, path: str, body: Any = None, **headers: str) -> int:
        import aiohttp

        async with (
            aiohttp.ClientSession() as http,
            http.request(method, f"{self.url}{path}", json=body, headers=headers) as response,
        ):
            await response.read()
            return response.status


class RealApi:
    """A real API server: the tests act as its admin; the operator as deploy/'s account."""

    name = "envtest"

    def __init__(self, server: Any, operator_token: str) -> None:
        self.server, self.url = server, server.url
        certs = server.root / "certs"
        # the operator logs in with its token; the sandbox Flux writes as the admin
        self.connection = KubernetesApi(
            self.url, certs / "ca.crt", (certs / "admin.crt", certs / "admin.key"), operator_token
        )
        self.login = self.connection.login
        self.sink = self.connection.status_sink
        self.operator_client = self.connection.operator_client
        self.writer_session = self.connection.writer_session
        self.last_refusal = ""

    def serve_flux_resources(self) -> None:
        """Installed with the CRDs (tests/envtest/server.py)."""

    def read(self, group: str, version: str, plural: str, namespace: str, name: str) -> Any:
        prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
        code, body = self.server.request("GET", f"{prefix}/namespaces/{namespace}/{plural}/{name}")
        return body if code == 200 else None

    def current(self, name: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self.read(
            "envwake.dev", "v1alpha1", "environmentwakes", "envwake", name
        )
        return result

    def events(self, name: str) -> list[tuple[str, str]]:
        code, listing = self.server.request("GET", "/api/v1/namespaces/envwake/events")
        assert code == 200, listing
        return [
            (e["type"], e["reason"])
            for e in listing["items"]
            if e.get("involvedObject", {}).get("name") == name
        ]

    async def call(self, method: str, path: str, body: Any = None, **headers: str) -> int:
        content_type = headers.get("Content-Type", "application/json")
        code, answer = await asyncio.to_thread(
            self.server.request, method, path, body, content_type=content_type
        )
        self.last_refusal = str((answer or {}).get("message", "")) if code >= 400 else ""
        return int(code)

    def clean(self) -> None:
        """Leave nothing for the next test: its wakes (finalizers dropped) and events."""
        _, listing = self.server.request("GET", WAKES)
        for item in listing.get("items") or []:
            path = f"{WAKES}/{item['metadata']['name']}"
            self.server.request(
                "PATCH",
                path,
                {"metadata": {"finalizers": None}},
                content_type="application/merge-patch+json",
            )
            self.server.request("DELETE", path)
        self.server.request("DELETE", "/api/v1/namespaces/envwake/events")
