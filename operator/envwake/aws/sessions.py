"""boto3 clients per account and region: the default credential chain (IRSA in the
cluster), or STS AssumeRole of ``arn:aws:iam::<account>:role/<role>`` cached until
shortly before its credentials expire; an endpoint override for the local stack."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from envwake import errors

if TYPE_CHECKING:  # boto3-stubs, a development dependency
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_sts import STSClient

__all__ = ["AwsSessions", "Waiting", "error_code", "translate"]


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
        self.session = session or boto3.Session()
        self.wall_clock = wall_clock
        self.refresh_margin = refresh_margin
        # botocore's own retries (throttling, 5xx) sleep on the wall clock; tests use 1.
        self.config = Config(retries={"mode": "standard", "max_attempts": attempts})
        self._assumed: dict[tuple[str, str], _Assumed] = {}
        self.assume_role_calls = 0

    def rds(
        self, *, account: str | None = None, role: str | None = None, region: str | None = None
    ) -> RDSClient:
        return self.session.client("rds", **self._options(account, role, region))

    def scheduler(
        self, *, account: str | None = None, role: str | None = None, region: str | None = None
    ) -> EventBridgeSchedulerClient:
        return self.session.client("scheduler", **self._options(account, role, region))

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
