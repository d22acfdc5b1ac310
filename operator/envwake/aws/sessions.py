"""boto3 clients per account and region: the default credential chain (IRSA in the
cluster), or STS AssumeRole of ``arn:aws:iam::<account>:role/<role>`` cached until
shortly before its credentials expire; an endpoint override for the local stack."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from envwake import errors

if TYPE_CHECKING:  # boto3-stubs, a development dependency
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_sts import STSClient

__all__ = ["AwsSessions", "Waiting", "boto_session", "error_code", "translate"]


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


def boto_session(**options: Any) -> boto3.Session:
    """A boto3 session (``options`` as boto3.Session's) reading service models through
    one loader per process: a fresh botocore session parses the model files again
    (endpoints.json alone is 1.2 MB), 150 ms for its first client against 40 ms."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _shared_loader())
    return boto3.Session(botocore_session=core, **options)


@dataclass(frozen=True)
class Waiting:
    """Polling for a state: with backoff, within a timeout; clock injectable for tests."""

    timeout: float = 20 * 60
    first: float = 5.0
    factor: float = 1.5
    longest: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    monotonic: Callable[[], float] = field(default=time.monotonic, repr=False)

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(delay * self.factor, self.longest)


@dataclass
class _Assumed:
    credentials: dict[str, str]
    expires: float


class AwsSessions:
    def __init__(
        self,
        *,
        region: str = "ap-northeast-1",
        endpoint_url: str | None = None,
        session: boto3.Session | None = None,
        wall_clock: Callable[[], float] = time.time,
        refresh_margin: float = 300.0,
        attempts: int = 3,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.session = session or boto_session()
        self.wall_clock = wall_clock
        self.refresh_margin = refresh_margin
        # botocore's own retries (throttling, 5xx) sleep on the wall clock; tests use 1.
        self.config = Config(retries={"mode": "standard", "max_attempts": attempts})
        self._assumed: dict[tuple[str, str], _Assumed] = {}
        self.assume_role_calls = 0
        # Clients are thread-safe and costly to make (5 ms each, for every poll): one per
        # service, region, account and role, made again when assumed credentials are renewed. A
        # session is not thread-safe: the lock.
        self._clients: dict[tuple[str, str, str | None, str | None], tuple[str | None, Any]] = {}
        self._lock = threading.Lock()

    def rds(
        self, *, account: str | None = None, role: str | None = None, region: str | None = None
    ) -> RDSClient:
        client: RDSClient = self._client("rds", account, role, region)
        return client

    def scheduler(
        self, *, account: str | None = None, role: str | None = None, region: str | None = None
    ) -> EventBridgeSchedulerClient:
        client: EventBridgeSchedulerClient = self._client("scheduler", account, role, region)
        return client

    def _client(
        self, service: str, account: str | None, role: str | None, region: str | None
    ) -> Any:
        with self._lock:
            options = self._options(account, role, region)
            key = (service, options["region_name"], account, role)
            made_with = options.get("aws_access_key_id")
            cached = self._clients.get(key)
            if cached is None or cached[0] != made_with:
                client = self.session.client(service, **options)  # type: ignore[call-overload]
                cached = self._clients[key] = (made_with, client)
            return cached[1]

    def _options(self, account: str | None, role: str | None, region: str | None) -> dict[str, Any]:
        """Client options for ``account`` (through ``role``) in ``region``."""
        credentials = self._credentials(account, role, region) if account and role else {}
        return {
            "region_name": region or self.region,
            "endpoint_url": self.endpoint_url,
            "config": self.config,
            **credentials,
        }

    def _credentials(self, account: str, role: str, region: str | None) -> dict[str, str]:
        cached = self._assumed.get((account, role))
        if cached is not None and cached.expires - self.refresh_margin > self.wall_clock():
            return cached.credentials
        arn = f"arn:aws:iam::{account}:role/{role}"
        sts: STSClient = self.session.client(
            "sts",
            region_name=region or self.region,
            endpoint_url=self.endpoint_url,
            config=self.config,
        )
        try:
            self.assume_role_calls += 1
            answer = sts.assume_role(RoleArn=arn, RoleSessionName="envwake", DurationSeconds=3600)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"assuming role {arn}") from None
        raw = answer["Credentials"]
        expiration: Any = raw["Expiration"]
        expires = expiration.timestamp() if isinstance(expiration, datetime) else float(expiration)
        credentials = {
            "aws_access_key_id": raw["AccessKeyId"],
            "aws_secret_access_key": raw["SecretAccessKey"],
            "aws_session_token": raw["SessionToken"],
        }
        self._assumed[(account, role)] = _Assumed(credentials, expires)
        return credentials


_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "NotAuthorized",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "UnrecognizedClientException",
}
_UNAVAILABLE = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalServerException",
    "InternalServerError",
}


def translate(exc: ClientError | BotoCoreError, doing: str) -> errors.AwsError:
    """The typed error for a botocore failure, naming what was being done and AWS's words."""
    if isinstance(exc, BotoCoreError):
        return errors.AwsUnavailable(f"{doing}: {exc}")
    code = error_code(exc)
    message = exc.response.get("Error", {}).get("Message", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    text = f"{doing}: {code}: {message}".rstrip(": ")
    if code in _DENIED or status == 403:
        return errors.AwsAccessDenied(text)
    if code in _UNAVAILABLE or status >= 500:
        return errors.AwsUnavailable(text)
    return errors.AwsError(text)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
