"""kmock's Kubernetes emulator, made to keep the API server's promises Kopf relies on.

kmock 0.8 stores objects as plain JSON. A real API server also: stamps ``uid``,
``creationTimestamp``, ``resourceVersion`` and ``generation`` (bumped when the spec
changes); names objects from ``generateName``; answers a failed JSON-patch ``test``
with 422, not 500; gives lists a ``kind`` and a ``resourceVersion``; and starts a
watch after the ``resourceVersion`` asked for instead of replaying everything. Kopf's
finalizers, progress storage and restarts depend on all of these. And it answers
``kubectl get`` with a Table of the resource's printer columns (``envwake_columns``),
its Age told by the emulator's clock, as the API server does for a CRD.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import attrs
import jsonpatch
import kmock
from aiohttp import web
from kmock._internal import enums, parsing, rendering
from kmock._internal.k8s import KubernetesError

from envwake.sandbox import leaks, tables

__all__ = ["ApiRequest", "KubernetesFault", "PatchTestFailed", "StampingEmulator"]


def _parse_path(path: str) -> parsing.ParsedPath:
    """kmock 0.8's parser, except that ``/api/v1/namespaces`` (and ``.../namespaces/x``)
    is the Namespace resource itself, not a namespace missing its name: Kopf lists and
    watches namespaces whenever it runs for named namespaces (``--namespace``)."""
    parts = path.strip("/").split("/")
    if parts[:2] == ["api", "v1"] and parts[2:3] == ["namespaces"] and len(parts) <= 4:
        name = parts[3] if len(parts) == 4 else None
        return parsing.ParsedPath("", "v1", "namespaces", None, name)
    return _KMOCK_PARSE_PATH(path)


_KMOCK_PARSE_PATH = parsing.parse_path
parsing.parse_path = _parse_path  # (one parser for the whole process: it is kmock's bug)


@attrs.frozen
class PatchTestFailed(KubernetesError):
    status: int = 422
    reason: str | None = "Invalid"


class StampingEmulator(kmock.KubernetesEmulator):
    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.envwake_versions = itertools.count(1)
        self.envwake_requests: list[ApiRequest] = []  # who asked for what, as RBAC sees it
        self.envwake_in_flight: list[rendering.Request] = []
        # what time the API server tells (the local stack sets its virtual clock here)
        self.envwake_clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(
            datetime.UTC
        )
        self.envwake_latest = 0
        self.envwake_faults: list[KubernetesFault] = []
        # per "group/version/plural": a CRD's additionalPrinterColumns, for Table answers
        self.envwake_columns: dict[str, list[dict[str, Any]]] = {}

    def _next_version(self) -> str:
        self.envwake_latest = next(self.envwake_versions)
        return str(self.envwake_latest)

    def inject(self, fault: KubernetesFault) -> None:
        """Answer the next ``fault.times`` matching requests with ``fault.status``."""
        self.envwake_faults.append(fault)

    async def _handle(self, request: rendering.Request) -> Any:
        # kmock keeps every request ever served and matches each new one by scanning them
        # all: a long-lived stack would slow down without end. Matching only needs the
        # requests in flight (the one being matched among them); who asked for what is in
        # envwake_requests.
        self.envwake_in_flight.append(request)
        try:
            self._requests[:] = self.envwake_in_flight
            return await self._handle_in_flight(request)
        finally:
            self.envwake_in_flight.remove(request)

    async def _handle_in_flight(self, request: rendering.Request) -> Any:
        if request.resource is not None:
            asked = _api_request(request)
            self.envwake_requests.append(asked)
            if asked.verb in ("create", "update", "patch") and request.data is not None:
                leaks.inspect(f"Kubernetes {asked.verb} {asked.resource}", repr(request.data))
            for fault in self.envwake_faults:
                if fault.times > 0 and fault.matches(asked, request.namespace):
                    fault.times -= 1
                    if fault.delay:
                        await asyncio.sleep(fault.delay)
                    if fault.status:
                        return web.json_response(fault.body(request.name), status=fault.status)
                    break
            if request.action == enums.action.CREATE and isinstance(request.data, dict):
                self._stamp_new(request)
            elif request.action == enums.action.UPDATE and request.name is not None:
                self._stamp_change(request)
        try:
            response = await super()._handle(request)
        except jsonpatch.JsonPatchTestFailed as exc:
            raise PatchTestFailed(message=str(exc)) from None
        created = request.action == enums.action.CREATE and request.resource is not None
        if created and getattr(response, "status", None) == 200 and not response.prepared:
            response.set_status(201)  # "201 Created", as the API server (and its clients) have it
        return response

    def _stamp_new(self, request: rendering.Request) -> None:
        meta = request.data.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)
        if request.namespace and not meta.get("namespace"):
            meta["namespace"] = request.namespace
        meta.setdefault("uid", str(uuid.uuid4()))
        now = self.envwake_clock().astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        meta.setdefault("creationTimestamp", now)
        meta["resourceVersion"] = self._next_version()
        meta["generation"] = 1

    def _stamp_change(self, request: rendering.Request) -> None:
        assert request.resource is not None
        assert request.name is not None
        key = (request.resource, request.namespace, request.name)
        current: Any = self.objects[key] if key in self.objects else None  # noqa: SIM401 (no .get)
        generation = int(((current or {}).get("metadata") or {}).get("generation") or 1)
        version = self._next_version()
        status_only = request.subresource == "status"
        if isinstance(request.data, dict):
            meta = request.data.setdefault("metadata", {})
            meta["resourceVersion"] = version
            if "spec" in request.data and not status_only:
                meta["generation"] = generation + 1
        elif isinstance(request.data, list):  # a JSON patch: stamp after its test operations
            request.data.append(
                {"op": "add", "path": "/metadata/resourceVersion", "value": version}
            )
            if not status_only and any(
                str(op.get("path", "")).startswith("/spec") for op in request.data
            ):
                request.data.append(
                    {"op": "add", "path": "/metadata/generation", "value": generation + 1}
                )

    async def _serve_list(self, request: rendering.Request) -> Any:
        listing: dict[str, Any] = dict(await super()._serve_list(request))  # type: ignore[arg-type]
        kind = _kind(self, request)
        if kind:
            listing["kind"] = f"{kind}List"
        listing["apiVersion"] = _api_version(request)
        listing["metadata"] = {"resourceVersion": str(self.envwake_latest)}
        columns = self._table_columns(request)
        if columns is not None:
            return tables.table(
                columns, listing["items"], str(self.envwake_latest), self.envwake_clock()
            )
        return listing

    async def _serve_fetch(self, request: rendering.Request) -> Any:
        obj = await super()._serve_fetch(request)
        columns = self._table_columns(request)
        if columns is not None and isinstance(obj, dict):
            version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
            return tables.table(columns, [obj], version, self.envwake_clock())
        return obj

    def _table_columns(self, request: rendering.Request) -> list[dict[str, Any]] | None:
        """The printer columns when the request asks for a Table (as kubectl get does)."""
        accept = str(request.headers.get("Accept") or "")
        if "as=Table" not in accept or request.resource is None:
            return None
        resource = request.resource
        key = f"{getattr(resource, 'group', '')}/{getattr(resource, 'version', '')}/"
        return self.envwake_columns.get(key + str(getattr(resource, "plural", "")))

    async def _serve_watch(self, request: rendering.Request) -> AsyncIterator[Any]:
        since = (
            int(request.params.get("resourceVersion") or 0)
            if str(request.params.get("resourceVersion") or "0").isdigit()
            else 0
        )
        async for event in super()._serve_watch(request):
            if isinstance(event, dict):
                version = (event.get("object") or {}).get("metadata", {}).get(
                    "resourceVersion"
                ) or "0"
                if str(version).isdigit() and int(version) <= since:
                    continue
            yield event


@dataclass
class KubernetesFault:
    """Refuse a kind of request as the API server does (a Status body), ``times`` times;
    or, with ``status=0``, answer it only after ``delay`` seconds (a slow listing)."""

    resource: str  # plural, with "/subresource": environmentwakes/status
    verb: str
    status: int = 409
    times: int = 1
    delay: float = 0.0
    namespace: str | None = None  # only requests in this namespace (None: any)

    def matches(self, asked: ApiRequest, namespace: str | None) -> bool:
        return (self.resource, self.verb) == (asked.resource, asked.verb) and (
            self.namespace is None or self.namespace == namespace
        )

    def body(self, name: str | None) -> dict[str, Any]:
        reason, message = {
            409: (
                "Conflict",
                f'Operation cannot be fulfilled on {self.resource.split("/")[0]} "{name}": the '
                "object has been modified; please apply your changes to the latest version "
                "and try again",
            ),
            429: ("TooManyRequests", "storage is (re)initializing"),
        }.get(
            self.status, ("InternalError", "Internal error occurred: etcdserver: request timed out")
        )
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": self.status,
        }


@dataclass(frozen=True)
class ApiRequest:
    """A request as an RBAC authorizer sees it: who, which resource, which verb."""

    token: str  # the bearer token ("" when anonymous)
    group: str  # "" for the core group
    resource: str  # plural, with "/subresource" when there is one
    verb: str  # get list watch create update patch delete deletecollection


def _api_request(request: rendering.Request) -> ApiRequest:
    assert request.resource is not None
    auth = str(request.headers.get("Authorization") or "")
    token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
    method = str(request.method.value if hasattr(request.method, "value") else request.method)
    named = request.name is not None
    if method == "GET":
        watching = str(request.params.get("watch", "")).lower() in ("true", "1")
        verb = "watch" if watching else ("get" if named else "list")
    else:
        verb = {
            "POST": "create",
            "PUT": "update",
            "PATCH": "patch",
            "DELETE": "delete" if named else "deletecollection",
        }.get(method.upper(), method.lower())
    resource = request.resource.plural or ""
    if request.subresource:
        resource = f"{resource}/{request.subresource}"
    return ApiRequest(token, request.resource.group or "", resource, verb)


def _kind(emulator: StampingEmulator, request: rendering.Request) -> str | None:
    resource = request.resource
    for info_key, info in emulator.resources.items():
        if info_key == resource or str(info_key) == str(resource):
            return getattr(info, "kind", None)
    return getattr(resource, "kind", None)


def _api_version(request: rendering.Request) -> str:
    resource = request.resource
    group = getattr(resource, "group", "") or ""
    version = getattr(resource, "version", "") or "v1"
    return f"{group}/{version}" if group else version
