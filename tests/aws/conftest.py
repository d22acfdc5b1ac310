from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from envwake.aws import AuroraClusters, AwsSessions, Schedules, Waiting
from envwake.aws.sessions import boto_session
from envwake.model.environment import RdsClusterEntry

OTHER_ACCOUNT = "222233334444"


@dataclass
class Clock:
    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def aws(aws_emulator, clock):
    aws_emulator.reset()
    aws_emulator.configure(transition_seconds=60, clock=clock.monotonic)
    return aws_emulator


def entry(cluster_id: str, *, account: str | None = None, **extra) -> RdsClusterEntry:
    return RdsClusterEntry.model_validate(
        {
            "type": "rdscluster",
            "clusterID": cluster_id,
            **({"awsAccountID": account, "role": "envwake-aurora"} if account else {}),
            "startScheduleName": f"{cluster_id}-start",
            "originStartTime": "cron(30 6 ? * MON-FRI *)",
            "stopScheduleName": f"{cluster_id}-stop",
            "originStopTime": "cron(0 0 ? * TUE-SAT *)",
            **extra,
        }
    )


SHOP = entry("shop-db")
PAYMENTS = entry("payments-db", account=OTHER_ACCOUNT)


@dataclass
class Recorder:
    """botocore events of a session: the exact parameters of each call, by operation."""

    calls: list[tuple[str, dict]] = field(default_factory=list)

    def __call__(self, params, model, **_):
        self.calls.append((model.name, params))

    def of(self, operation: str) -> list[dict]:
        return [params for name, params in self.calls if name == operation]


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def sessions(aws, clock, recorder) -> AwsSessions:
    session = boto_session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="ap-northeast-1"
    )
    session.events.register("provide-client-params.*.*", recorder)
    start = time.time()  # moto dates credentials by the real clock; time then moves with ours
    return AwsSessions(
        endpoint_url=aws.url, session=session, attempts=1, wall_clock=lambda: start + clock.now
    )


@pytest.fixture
def clusters(sessions, clock) -> AuroraClusters:
    waiting = Waiting(timeout=1800, sleep=clock.sleep, monotonic=clock.monotonic)
    return AuroraClusters(sessions, waiting=waiting)


@pytest.fixture
def schedules(sessions) -> Schedules:
    return Schedules(sessions)
