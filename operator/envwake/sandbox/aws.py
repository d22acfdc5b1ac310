"""moto as a real HTTP server, made to behave more like AWS where envwake depends on it.

- Aurora start/stop pass through ``starting``/``stopping`` until a due time on an
  injectable clock (moto jumps straight to ``available``/``stopped``); moto's own state
  guards still run first.
- Faults can be injected per API action (``AssumeRole``, ``StartDBCluster``,
  ``UpdateSchedule``...): an error code, HTTP status and message in the wire format of
  the service (query/XML for STS and RDS, REST-JSON for the Scheduler).
- Several accounts work through assumed-role credentials; ``MOTO_ACCOUNT_ID`` must not
  be set (it would put every account's resources in one).
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import boto3
from moto.backends import get_backend
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.rds.models import RDSBackend
from werkzeug.serving import BaseWSGIServer, make_server

from envwake.model.loading import Environment

__all__ = ["AwsEmulator", "AwsFault"]

BASE_ACCOUNT = "123456789012"  # moto's account for credentials it did not issue


@dataclass
class AwsFault:
    action: str  # e.g. "AssumeRole", "StartDBCluster", "UpdateSchedule"
    code: str
    status: int = 400
    message: str = "injected by the envwake sandbox"
    times: int = 1


class _Transitions:
    """What the patched RDS backend uses: how long a transition takes, and the clock."""

    seconds: float = 5.0
    clock: Callable[[], float] = time.monotonic


def _settle(backend: Any, *, now: float | None = None) -> None:
    """Finish the transitions due by ``now`` (default: the transitions' clock)."""
    now = _Transitions.clock() if now is None else now
    for cluster in backend.clusters.values():
        pending = getattr(cluster, "envwake_pending", None)
        if pending is not None and pending[1] <= now:
            cluster.status, cluster.envwake_pending = pending[0], None


def _install_transitions() -> None:
    if getattr(RDSBackend, "envwake_transitions", False):
        return
    original_start = RDSBackend.start_db_cluster
    original_stop = RDSBackend.stop_db_cluster
    original_describe = RDSBackend.describe_db_clusters

    def transit(backend: Any, identifier: str, moving: str, final: str) -> Any:
        cluster = backend.clusters[identifier]
        cluster.status = moving
        cluster.envwake_pending = (final, _Transitions.clock() + _Transitions.seconds)
        _settle(backend)
        return copy.deepcopy(cluster)

    def start_db_cluster(self: Any, cluster_identifier: str) -> Any:
        _settle(self)
        original_start(self, cluster_identifier)  # moto's guard: only from stopped
        return transit(self, cluster_identifier, "starting", "available")

    def stop_db_cluster(self: Any, cluster_identifier: str) -> Any:
        _settle(self)
        original_stop(self, cluster_identifier)  # moto's guard: only from available
        return transit(self, cluster_identifier, "stopping", "stopped")

    def describe_db_clusters(self: Any, *args: Any, **kwargs: Any) -> Any:
        _settle(self)
        return original_describe(self, *args, **kwargs)

    RDSBackend.start_db_cluster = start_db_cluster  # type: ignore[method-assign]
    RDSBackend.stop_db_cluster = stop_db_cluster  # type: ignore[method-assign]
    RDSBackend.describe_db_clusters = describe_db_clusters  # type: ignore[method-assign]
    RDSBackend.envwake_transitions = True  # type: ignore[attr-defined]


class _Faults:
    """WSGI middleware answering matching actions with an injected error."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.faults: list[AwsFault] = []
        self.lock = threading.Lock()
        self.actions: list[str] = []
        self.after: Callable[[str], None] | None = None

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        action = self._action(environ, body)
        with self.lock:
            self.actions.append(action)
            fault = next((f for f in self.faults if f.action == action and f.times > 0), None)
            if fault is not None:
                fault.times -= 1
        if fault is None:
            answer: Iterable[bytes] = self.app(environ, start_response)
            if self.after is not None:
                self.after(action)  # done, not yet answered
            return answer
        reason = {
            400: "Bad Request",
            403: "Forbidden",
            404: "Not Found",
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }.get(fault.status, "Error")
        if environ.get("PATH_INFO", "").startswith("/schedules"):
            payload = json.dumps({"Message": fault.message}).encode()
            headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", fault.code)]
        else:
            payload = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{fault.code}</Code>"
                f"<Message>{fault.message}</Message></Error><RequestId>envwake</RequestId></ErrorResponse>"
            ).encode()
            headers = [("Content-Type", "text/xml")]
        start_response(
            f"{fault.status} {reason}", [*headers, ("Content-Length", str(len(payload)))]
        )
        return [payload]

    @staticmethod
    def _action(environ: dict[str, Any], body: bytes) -> str:
        path = environ.get("PATH_INFO", "")
        if match := re.match(r"/schedules/([^/?]+)", path):
            verb = {
                "GET": "GetSchedule",
                "PUT": "UpdateSchedule",
                "POST": "CreateSchedule",
                "DELETE": "DeleteSchedule",
            }.get(environ["REQUEST_METHOD"], "?")
            return verb if match else "?"
        query = parse_qs(environ.get("QUERY_STRING", "")) | parse_qs(body.decode(errors="replace"))
        return str(query.get("Action", ["?"])[0])


class _QuietHandler(MotoRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """No access log on stderr."""


class AwsEmulator:
    """``with AwsEmulator() as aws: aws.url``; transitions take ``transition_seconds`` on
    ``clock``."""

    def __init__(
        self,
        *,
        transition_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        region: str = "ap-northeast-1",
        bind: str = "127.0.0.1",
        advertise: str | None = None,
    ) -> None:
        self.transition_seconds = transition_seconds
        self.bind = bind  # 0.0.0.0 when a kind cluster must reach it (tests/e2e)
        self.advertise = advertise or bind  # the host name its URL gives
        self.clock = clock
        self.region = region
        self.url = ""
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._faults: _Faults | None = None

    def __enter__(self) -> AwsEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if os.environ.get("MOTO_ACCOUNT_ID"):
            raise RuntimeError(
                "MOTO_ACCOUNT_ID is set: moto would put every account's resources in that one "
                "account; unset it (accounts come from assumed-role credentials)"
            )
        _install_transitions()
        self.configure(transition_seconds=self.transition_seconds, clock=self.clock)
        self._faults = _Faults(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self.bind, 0, self._faults, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="aws-emulator", daemon=True
        )
        self._thread.start()
        self.url = f"http://{self.advertise}:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def configure(
        self, *, transition_seconds: float | None = None, clock: Callable[[], float] | None = None
    ) -> None:
        if transition_seconds is not None:
            _Transitions.seconds = self.transition_seconds = transition_seconds
        if clock is not None:
            _Transitions.clock = self.clock = clock

    def reset(self) -> None:
        """Forget every resource and issued key (assume roles again afterwards)."""
        import requests

        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        if self._faults is not None:
            with self._faults.lock:
                self._faults.faults.clear()
                self._faults.actions.clear()

    def after_action(self, hook: Callable[[str], None] | None) -> None:
        """Call ``hook`` with each action's name once it took effect, before its answer
        leaves (a test can kill the caller there)."""
        assert self._faults is not None
        self._faults.after = hook

    def inject(self, fault: AwsFault) -> None:
        assert self._faults is not None
        with self._faults.lock:
            self._faults.faults.append(fault)

    @property
    def actions(self) -> list[str]:
        """Every API action the server was asked for, in order."""
        assert self._faults is not None
        with self._faults.lock:
            return list(self._faults.actions)

    # -- seeding, through the API as a user would --------------------------------------------------

    def session(self, account: str | None = None, role: str = "envwake-seed") -> boto3.Session:
        base = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=self.region
        )
        if account is None:
            return base
        sts = base.client("sts", endpoint_url=self.url)
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="seed"
        )["Credentials"]
        return boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=self.region,
        )

    def create_cluster(
        self,
        cluster_id: str,
        *,
        account: str | None = None,
        status: str = "stopped",
        region: str | None = None,
    ) -> None:
        rds = self.session(account).client(
            "rds", endpoint_url=self.url, region_name=region or self.region
        )
        rds.create_db_cluster(
            DBClusterIdentifier=cluster_id,
            Engine="aurora-postgresql",
            MasterUsername="envwake",
            MasterUserPassword="sandbox-only-1",
        )
        if status == "stopped":
            rds.stop_db_cluster(DBClusterIdentifier=cluster_id)
            self.settle(account or BASE_ACCOUNT, region or self.region)

    def settle(self, account: str, region: str | None = None) -> None:
        """Finish every pending transition now (for seeding)."""
        _settle(get_backend("rds")[account][region or self.region], now=float("inf"))

    def cluster_status(self, cluster_id: str, *, account: str | None = None) -> str:
        backend = get_backend("rds")[account or BASE_ACCOUNT][self.region]
        _settle(backend)
        return str(backend.clusters[cluster_id].status)

    def seed(self, environment: Environment) -> None:
        """The environment's Aurora clusters (stopped) and their start/stop schedules, as
        its config describes them, each in its account."""
        for cluster in environment.clusters:
            account = cluster.aws_account_id
            self.create_cluster(cluster.cluster_id, account=account, region=cluster.region)
            for name, expression, action in (
                (cluster.start_schedule_name, cluster.origin_start_time, "startDBCluster"),
                (cluster.stop_schedule_name, cluster.origin_stop_time, "stopDBCluster"),
            ):
                self.create_schedule(
                    name,
                    expression,
                    cluster_id=cluster.cluster_id,
                    account=account,
                    action=action,
                    ScheduleExpressionTimezone=environment.config.timezone,
                )

    def create_schedule(
        self,
        name: str,
        expression: str,
        *,
        cluster_id: str,
        account: str | None = None,
        action: str = "stopDBCluster",
        **fields: Any,
    ) -> None:
        """A schedule shaped like the ones teams use to start and stop Aurora."""
        owner = account or BASE_ACCOUNT
        scheduler = self.session(account).client("scheduler", endpoint_url=self.url)
        scheduler.create_schedule(
            Name=name,
            ScheduleExpression=expression,
            ScheduleExpressionTimezone=fields.pop("ScheduleExpressionTimezone", "Asia/Tokyo"),
            FlexibleTimeWindow=fields.pop("FlexibleTimeWindow", {"Mode": "OFF"}),
            Target=fields.pop(
                "Target",
                {
                    "Arn": f"arn:aws:scheduler:::aws-sdk:rds:{action}",
                    "RoleArn": f"arn:aws:iam::{owner}:role/scheduler-aurora",
                    "Input": json.dumps({"DbClusterIdentifier": cluster_id}),
                    "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
                },
            ),
            **fields,
        )
