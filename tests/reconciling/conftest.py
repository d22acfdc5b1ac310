"""The whole stack but Kubernetes: GitHub emulator, moto server, the Flux/KEDA sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from envwake.aws import AuroraClusters, AwsSessions, Schedules, Waiting
from envwake.aws.sessions import boto_session
from envwake.gitops import AppCredentials, GitHubSession, Secret, Timing
from envwake.model.loading import Environment, load_environment
from envwake.planning import WakeRequest
from envwake.reconciler import Adapters, Reconciler, Record
from envwake.sandbox.flux import FluxKeda
from envwake.sandbox.github import CiJob, GitHubEmulator
from envwake.sandbox.repository import flux_files
from tests.fakes import FakeTime

TOKYO = ZoneInfo("Asia/Tokyo")
OTHER_ACCOUNT = "222233334444"
CONFIG = f"""
name: dev
git: {{repository: acme/flux-dev, checks: [build]}}
services:
  - {{type: rdscluster, clusterID: shop-db, startScheduleName: shop-db-start,
     originStartTime: "cron(30 6 ? * MON-FRI *)", stopScheduleName: shop-db-stop,
     originStopTime: "cron(0 0 ? * TUE-SAT *)"}}
  - {{type: rdscluster, clusterID: payments-db, awsAccountID: "{OTHER_ACCOUNT}",
     role: envwake-aurora, startScheduleName: payments-db-start,
     originStartTime: "cron(30 6 ? * MON-FRI *)",
     stopScheduleName: payments-db-stop, originStopTime: "cron(0 0 ? * TUE-SAT *)"}}
  - type: service
    namespace: shop
    serviceName: api
    manifest:
      scaledObject: {{path: apps/shop/api/scaledobject.yaml}}
      deployment: {{path: apps/shop/api/deployment.yaml, timestampKeyName: flagger.app/restartedAt}}
    dependencies: [shop-db]
  - type: service
    namespace: shop
    serviceName: web
    manifest: {{scaledObject: {{path: apps/shop/web/scaledobject.yaml}}}}
    dependencies: [shop/api]
  - type: service
    namespace: payments
    serviceName: ledger
    replicas: 3
    manifest: {{scaledObject: {{path: apps/payments/ledger/scaledobject.yaml}}}}
    dependencies: [payments-db]
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO)


@dataclass
class Stack:
    """The world of one environment. Its wall clock is where the last ``converge`` put
    it, plus the fake seconds slept since: the EventBridge schedules fire on it and KEDA's
    cron triggers run on it. What the operator records (in wakes' status) is kept in
    ``record``, as the operator keeps it, also when a converge dies half-way."""

    environment: Environment
    github: GitHubEmulator
    aws: object
    flux: FluxKeda
    time: FakeTime
    reconciler: Reconciler
    record: Record = field(default_factory=Record)
    origin: datetime = datetime(2026, 11, 28, tzinfo=TOKYO)
    mark: float = 0.0
    begun: bool = False  # the world's clock started (the schedules fire from then on)

    @property
    def repo(self):
        return self.github.state.repositories["acme/flux-dev"]

    def wall(self) -> datetime:
        return self.origin + timedelta(seconds=self.time.now - self.mark)

    def move_world(self) -> None:
        if self.begun:
            self.aws.fire_due(self.wall())
        self.flux.tick()

    def begin(self, now: str) -> None:
        """The world starts at ``now`` (before anything acts on it): the clusters as their
        schedules left them, KEDA's cron triggers as they are then."""
        self.origin, self.mark = at(now), self.time.now
        self.aws.begin(self.wall())
        self.begun = True
        if self.flux.kubernetes_url is None:  # (writing to kmock must not block its loop)
            self.flux.tick()

    def keep(self, record: Record) -> None:
        self.record = record

    def converge(self, wakes: list[tuple[str, str | None]], now: str):
        requests = [
            WakeRequest(at(start), at(stop) if stop else None, name=f"w{i}")
            for i, (start, stop) in enumerate(wakes)
        ]
        if not self.begun:
            self.begin(now)
        self.origin, self.mark = at(now), self.time.now
        self.move_world()
        report = self.reconciler.converge(
            requests,
            now=at(now),
            labels=("envwake/test",),
            record=self.record,
            on_record=self.keep,
        )
        self.record = report.record
        return report

    def base(self, path: str) -> str:
        return self.repo.store.read_file("master", path)

    def merged_prs(self) -> list:
        return [pr for pr in self.repo.pulls.values() if pr.merged]


@pytest.fixture
def stack(aws_emulator, tmp_path):
    environment = load_environment(CONFIG, source="dev.yaml", default_name="dev")
    assert isinstance(environment, Environment), environment
    with GitHubEmulator() as github:
        github.service.freeze_clock()
        time = FakeTime(github)
        aws_emulator.reset()
        aws_emulator.configure(transition_seconds=120, clock=time.monotonic)
        aws_emulator.seed(environment)
        app_id, key = github.service.create_app()
        repo = github.service.create_repository(
            "acme/flux-dev",
            files=flux_files(environment),
            required_checks=["build"],
            ci=[CiJob("build", seconds=45)],
        )
        installation = github.service.install(app_id, "acme", ["acme/flux-dev"])
        credentials = AppCredentials(app_id, installation, Secret(key.decode()), api_url=github.url)
        flux = FluxKeda(environment, repo.store, ready_after=30, clock=time.monotonic)
        session = boto_session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="ap-northeast-1",
        )
        sessions = AwsSessions(endpoint_url=aws_emulator.url, session=session, attempts=1)
        waiting = Waiting(sleep=time.sleep, monotonic=time.monotonic)
        adapters = Adapters(
            github=lambda: GitHubSession(
                credentials, "acme/flux-dev", sleep=time.sleep, spacing=False
            ),
            clone_url=github.clone_url("acme/flux-dev"),
            workdir=tmp_path,
            clusters=AuroraClusters(sessions, waiting=waiting),
            schedules=Schedules(sessions),
            cluster=flux,
            timing=Timing(sleep=time.sleep, monotonic=time.monotonic, poll=10),
        )
        stack = Stack(
            environment, github, aws_emulator, flux, time, Reconciler(environment, adapters)
        )
        flux.wall = stack.wall
        time.world.append(stack.move_world)
        yield stack
