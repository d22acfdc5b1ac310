"""moto as a real HTTP server, made to behave more like AWS where envwake depends on it.

- Aurora start/stop pass through ``starting``/``stopping`` until a due time on an
  injectable clock (moto jumps straight to ``available``/``stopped``); moto's own state
  guards still run first.
- Faults can be injected per API action (``AssumeRole``, ``StartDBCluster``,
  ``UpdateSchedule``...): an error code, HTTP status and message in the wire format of
  the service (query/XML for STS and RDS, REST-JSON for the Scheduler).
- Several accounts work through assumed-role credentials; ``MOTO_ACCOUNT_ID`` must not
  be set (it would put every account's resources in one).
- EventBridge Scheduler schedules fire (moto's never do): ``fire_due(now)`` runs every
  ENABLED ``cron(...)`` schedule whose time came since the last call, in its own time
  zone, by calling its target (``rds:startDBCluster`` / ``rds:stopDBCluster``), as the
  real scheduler would; a target that refuses (the cluster is not in a state for it)
  is a failed invocation, as in AWS.
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
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import boto3
from croniter import croniter
from moto.backends import get_backend
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.rds.models import RDSBackend
from werkzeug.serving import BaseWSGIServer, make_server

from envwake.model.loading import Environment

__all__ = ["AwsEmulator", "AwsFault", "unix_cron"]

BASE_ACCOUNT = "123456789012"  # moto's account for credentials it did not issue
CATCH_UP = timedelta(days=7)  # how far back the first firing looks
LEAP = timedelta(hours=1)  # a clock that jumps further: each firing's transition is done


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


def unix_cron(expression: str) -> str | None:
    """An EventBridge ``cron(m h dom mon dow year)`` as a 5-field cron, or None when it
    uses what croniter cannot say (``L``, ``W``, ``#``, a year other than ``*``)."""
    match = re.fullmatch(r"cron\((.*)\)", expression.strip())
    if not match:
        return None
    fields = match.group(1).split()
    if len(fields) != 6 or fields[5] not in ("*", "?"):
        return None
    minute, hour, dom, month, dow = (f.replace("?", "*") for f in fields[:5])
    if any(mark in field for field in (dom, dow) for mark in ("L", "W", "#")):
        return None

    def day(token: str) -> str:  # AWS numbers days 1-7 from SUN; cron 0-6
        return str(int(token) - 1) if token.isdigit() else token

    dow = ",".join("-".join(day(t) for t in part.split("-")) for part in dow.split(","))
    return f"{minute} {hour} {dom} {month} {dow}"


class _QuietHandler(MotoRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """No access log on stderr."""


def _backends(service: str) -> list[tuple[tuple[str, str], Any]]:
    found: list[tuple[tuple[str, str], Any]] = []
    for account, regions in get_backend(service).items():  # type: ignore[call-overload]
        for region, backend in regions.items():
            found.append(((account, region), backend))
    return found


def _firings(schedule: Any, since: datetime, now: datetime) -> list[datetime]:
    expression = unix_cron(str(schedule.schedule_expression))
    if expression is None:
        return []
    zone = ZoneInfo(schedule.schedule_expression_timezone or "UTC")
    times = croniter(expression, since.astimezone(zone))
    found: list[datetime] = []
    while (when := times.get_next(datetime)) <= now and len(found) < 1000:
        found.append(when)
    return found


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
        session_factory: Callable[..., boto3.Session] = boto3.Session,
    ) -> None:
        self.transition_seconds = transition_seconds
        self.bind = bind  # 0.0.0.0 when a kind cluster must reach it (tests/e2e)
        self.advertise = advertise or bind  # the host name its URL gives
        self.clock = clock
        self.region = region
        self.session_factory = session_factory  # how seeding makes its boto3 sessions
        self.url = ""
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._faults: _Faults | None = None
        self._fired_until: datetime | None = None
        self.fired: list[tuple[datetime, str, str]] = []  # when, schedule, outcome

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
        """Forget every resource and issued key (assume roles again afterwards), and when
        the schedules last fired."""
        self._fired_until = None
        self.fired.clear()
        import requests

        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        if self._faults is not None:
            with self._faults.lock:
                self._faults.faults.clear()
                self._faults.actions.clear()

    def fire_due(self, now: datetime) -> list[tuple[str, str]]:
        """Fire the schedules due since the last call, in order; returns (schedule,
        outcome) of each firing. The first call catches up on the week before ``now``, and
        a clock that leapt (more than an hour) catches up on what it leapt over: each
        transition finished at once, so the clusters are in the state their schedules put
        them in, as if the world had run all along."""
        since, self._fired_until = self._fired_until, now
        catching_up = since is None or now - since > LEAP
        if since is None:
            since = now - CATCH_UP  # (call it before anything changes the schedules)
        if now <= since:
            return []
        due = []
        for (account, region), backend in _backends("scheduler"):
            for group in backend.schedule_groups.values():
                for schedule in list(group.schedules.values()):
                    if schedule.state == "ENABLED":
                        for when in _firings(schedule, since, now):
                            due.append((when, schedule, account, region))
        done = []
        for when, schedule, account, region in sorted(due, key=lambda item: item[0]):
            outcome = self._invoke(schedule, account, region)
            if catching_up:
                _settle(get_backend("rds")[account][region], now=float("inf"))
            self.fired.append((when, schedule.name, outcome))
            done.append((schedule.name, outcome))
        return done

    def begin(self, now: datetime) -> None:
        """The world starts at ``now``: the clusters as their schedules left them."""
        self._fired_until = None
        self.fire_due(now)

    def _invoke(self, schedule: Any, account: str, region: str) -> str:
        arn = str(schedule.target.get("Arn", ""))
        action = arn.rsplit(":", 1)[-1]
        try:
            cluster = json.loads(schedule.target.get("Input") or "{}")["DbClusterIdentifier"]
        except (ValueError, KeyError, TypeError):
            return "failed: no DbClusterIdentifier in the target's input"
        rds = get_backend("rds")[account][region]
        try:
            if action == "startDBCluster":
                rds.start_db_cluster(cluster)
            elif action == "stopDBCluster":
                rds.stop_db_cluster(cluster)
            else:
                return f"failed: {action} is not emulated"
        except Exception as exc:  # AWS records a failed invocation; the schedule stays
            return f"failed: {type(exc).__name__}"
        return f"{action} {cluster}"

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
        base = self.session_factory(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=self.region
        )
        if account is None:
            return base
        sts = base.client("sts", endpoint_url=self.url)
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="seed"
        )["Credentials"]
        return self.session_factory(
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
