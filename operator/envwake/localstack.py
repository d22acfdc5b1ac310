"""The local stack: everything envwake talks to, on this machine, and the operator on it.

Kubernetes (kmock's emulator with the EnvironmentWake resource), AWS (moto server, the
environment's Aurora clusters and their schedules, which fire on the stack's clock),
GitHub (the emulator, a Flux repository generated from the environment's manifests,
simulated CI for the gating checks), Flux/KEDA (applies what is merged into the
Kubernetes emulator; KEDA's cron triggers keep the services up in working hours) and
the operator itself (Kopf, as ``envwake run`` runs it). The environment lives its normal
schedule by itself: asleep at night and on weekends, awake on working days. Every part
tells time by one ``VirtualClock``, so a night can pass in seconds. ``envwake demo`` is
built on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import ssl
import sys
import time
from collections.abc import AsyncIterator, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kmock
import kopf
import requests
from kubernetes import client

from envwake import handlers
from envwake.aws import AuroraClusters, AwsSessions, Schedules, Waiting
from envwake.aws.sessions import boto_session
from envwake.gitops import AppCredentials, GitHubSession, Secret, Timing
from envwake.kube import ApiSink, KubernetesClusterView
from envwake.model.loading import Environment
from envwake.reconciler import Adapters, Reconciler
from envwake.runtime import FINISHED_TTL, Runtime, StatusSink
from envwake.sandbox.aws import AwsEmulator
from envwake.sandbox.clock import VirtualClock
from envwake.sandbox.flux import FluxKeda
from envwake.sandbox.github import CiJob, GitHubEmulator
from envwake.sandbox.kubernetes import StampingEmulator
from envwake.sandbox.repository import flux_files
from envwake.sandbox.tables import ENVIRONMENT_WAKE_COLUMNS

__all__ = [
    "NAMESPACE",
    "OPERATOR_TOKEN",
    "KubernetesApi",
    "LocalStack",
    "OperatorProcess",
    "StackTiming",
    "kopf_operator",
]

logger = logging.getLogger("envwake.localstack")
NAMESPACE = "envwake"  # where the stack's wakes live (the kubeconfig's default namespace)
# The operator's bearer token: the emulator records who asked for what (tests/deploy
# compares it with the RBAC of deploy/); a real API server would check it.
OPERATOR_TOKEN = "envwake-operator"

RESOURCES = {
    "envwake.dev/v1alpha1/environmentwakes": kmock.ResourceInfo(
        kind="EnvironmentWake",
        namespaced=True,
        shortnames={"ewake"},
        subresources={"status"},
        verbs={"list", "watch", "get", "create", "patch", "update", "delete"},
    ),
    "keda.sh/v1alpha1/scaledobjects": kmock.ResourceInfo(
        kind="ScaledObject",
        namespaced=True,
        subresources={"status"},
        verbs={"list", "watch", "get", "create", "patch"},
    ),
    "source.toolkit.fluxcd.io/v1/gitrepositories": kmock.ResourceInfo(
        kind="GitRepository",
        namespaced=True,
        subresources={"status"},
        verbs={"list", "watch", "get", "create", "patch"},
    ),
    "kustomize.toolkit.fluxcd.io/v1/kustomizations": kmock.ResourceInfo(
        kind="Kustomization",
        namespaced=True,
        subresources={"status"},
        verbs={"list", "watch", "get", "create", "patch"},
    ),
}


@dataclass(frozen=True)
class StackTiming:
    """How long things take in the stack, in the clock's (virtual) seconds."""

    ci_seconds: float = 90.0  # each gating check
    cluster_seconds: float = 300.0  # an Aurora cluster starting or stopping
    pods_ready_seconds: float = 45.0  # pods ready after Flux applied the ScaledObject
    flux_interval: float = 0.1  # real seconds between ticks of the world (Flux, KEDA, kubelet)
    flux_poll_seconds: float = 0.0  # Flux's own interval, virtual (0: it looks at every tick)
    sync_timeout: float = 3 * 3600.0  # the operator's wait for Flux and for ready pods


@dataclass(frozen=True)
class KubernetesApi:
    """How to reach a Kubernetes API: the emulator, or a real API server (envtest tier)."""

    url: str
    ca_file: Path | None = None  # a real server's CA
    flux_certificate: tuple[Path, Path] | None = None  # how the sandbox Flux writes there
    operator_token: str | None = None  # the operator's ServiceAccount token

    def login(self, **_: Any) -> kopf.ConnectionInfo:
        """The operator's Kopf login."""
        return kopf.ConnectionInfo(
            server=self.url,
            token=self.operator_token,
            ca_path=str(self.ca_file) if self.ca_file else None,
            default_namespace=NAMESPACE,
        )

    def status_sink(self) -> ApiSink:
        """Status and events, written as the operator."""
        headers = {"Authorization": f"Bearer {self.operator_token}"} if self.operator_token else {}
        context = ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else None
        return ApiSink(self.url, headers=headers, ssl=context)

    def operator_client(self) -> client.ApiClient:
        """The kubernetes client, as the operator (what it reads applied state with)."""
        configuration = client.Configuration(host=self.url)
        if self.operator_token:
            configuration.api_key = {"authorization": self.operator_token}
            configuration.api_key_prefix = {"authorization": "Bearer"}
        if self.ca_file:
            configuration.ssl_ca_cert = str(self.ca_file)
        return client.ApiClient(configuration)

    def writer_session(self) -> requests.Session:
        """How the sandbox Flux writes what it applies."""
        session = requests.Session()
        if self.ca_file:
            session.trust_env = False  # else REQUESTS_CA_BUNDLE would win over our CA
            session.verify = str(self.ca_file)
        if self.flux_certificate:
            certificate, key = self.flux_certificate
            session.cert = (str(certificate), str(key))
        return session


@contextlib.asynccontextmanager
async def kopf_operator(
    registry: kopf.OperatorRegistry, runtime: Runtime
) -> AsyncIterator[asyncio.Task[None]]:
    """Kopf running envwake's handlers (clusterwide, standalone) in this event loop until
    the block ends; yields Kopf's task (it ends by itself on SIGINT/SIGTERM)."""
    settings = kopf.OperatorSettings()
    settings.watching.inactivity_timeout = 3600
    stop, ready = asyncio.Event(), asyncio.Event()
    tasks = await kopf.spawn_tasks(
        clusterwide=True,
        standalone=True,
        registry=registry,
        settings=settings,
        memo=kopf.Memo(runtime=runtime),
        stop_flag=stop,
        ready_flag=ready,
    )
    task = asyncio.create_task(kopf.run_tasks(tasks, ignored=_NotKopf()))
    await ready.wait()
    try:
        yield task
    finally:
        stop.set()
        await task


class LocalStack:
    """``async with LocalStack(env, workdir=..., clock=...) as stack:`` then
    ``async with stack.operator(): ...``; ``stack.kubeconfig`` points kubectl at it."""

    def __init__(
        self,
        environment: Environment,
        *,
        workdir: Path,
        clock: VirtualClock,
        timing: StackTiming | None = None,
        kubernetes_api: KubernetesApi | None = None,
        drive_world: bool = False,
        sandbox_flux: bool = True,
    ) -> None:
        self.environment = environment
        # False: a real Flux and KEDA apply what is merged (tests/cluster), not the sandbox's
        self.sandbox_flux = sandbox_flux
        # the world (schedules, Flux, KEDA) ticks by itself; or only at ``tick_world``
        self.drive_world = drive_world
        self.kubernetes_api = kubernetes_api
        self.api = kubernetes_api  # how the operator reaches Kubernetes, once it is up
        self.workdir = workdir
        self.clock = clock
        self.timing = timing or StackTiming()
        self.kubeconfig = workdir / "kubeconfig"
        self.kubernetes = StampingEmulator()
        self.kubernetes_url = ""
        self.aws = AwsEmulator(
            transition_seconds=self.timing.cluster_seconds,
            clock=clock.monotonic,
            session_factory=boto_session,
        )
        self.github = GitHubEmulator(workdir / "github")
        self.credentials: AppCredentials | None = None
        self.flux: FluxKeda | None = None
        self.runtime: Runtime | None = None
        self._operator_task: asyncio.Task[None] | None = None
        self._schedulers: dict[str | None, Any] = {}  # a scheduler client per account
        self._exits = contextlib.AsyncExitStack()

    @property
    def repository(self) -> str:
        return self.environment.config.git.repository

    async def __aenter__(self) -> LocalStack:
        try:
            await self._start()
        except BaseException:
            await self._exits.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._exits.aclose()

    async def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self.aws.start)
        self._exits.callback(self.aws.stop)
        await asyncio.to_thread(self._seed_aws)
        await asyncio.to_thread(self.github.start)
        self._exits.callback(self.github.stop)
        await asyncio.to_thread(self._seed_github)
        if self.kubernetes_api is None:
            self.kubernetes.envwake_clock = self.clock.now
            await self._exits.enter_async_context(self.kubernetes)
            server = await self._exits.enter_async_context(kmock.Server(self.kubernetes))
            self.kubernetes.resources.load_bundled()  # core/v1 and friends: discovery needs them
            for name, info in RESOURCES.items():
                self.kubernetes.resources[name] = info
            self.kubernetes.envwake_columns["envwake.dev/v1alpha1/environmentwakes"] = (
                ENVIRONMENT_WAKE_COLUMNS  # kubectl get shows what a real API server shows
            )
            self.api = KubernetesApi(str(server.url).rstrip("/"), operator_token=OPERATOR_TOKEN)
        assert self.api is not None
        self.kubernetes_url = self.api.url
        if self.kubernetes_api is None:
            self._write_kubeconfig()  # for kubectl and envwake, pointing at the emulator
        assert self.credentials is not None
        if not self.sandbox_flux:
            if not self.drive_world:
                world = asyncio.create_task(self._run_flux(), name="sandbox-schedules")
                self._exits.push_async_callback(_cancel, world)
            return
        repo = self.github.state.repositories[self.repository]
        self.flux = FluxKeda(
            self.environment,
            repo.store,
            branch=repo.default_branch,
            ready_after=self.timing.pods_ready_seconds,
            clock=self.clock.monotonic,
            wall=self.clock.now,
            kubernetes_url=self.kubernetes_url,
            kubernetes_session=self.api.writer_session(),
            interval=self.timing.flux_poll_seconds,
        )
        await asyncio.to_thread(self.flux.tick)
        if not self.drive_world:
            flux = asyncio.create_task(self._run_flux(), name="sandbox-flux")
            self._exits.push_async_callback(_cancel, flux)

    def _seed_aws(self) -> None:
        self.aws.reset()  # moto's state lives in the process: start from nothing
        self.aws.seed(self.environment)
        self.aws.begin(self.clock.now())  # the clusters as their schedules left them

    def _seed_github(self) -> None:
        git = self.environment.config.git
        service = self.github.service
        service.use_clock(self.clock.now)
        app_id, key = service.create_app()
        checks = list(git.checks or ("build",))
        service.create_repository(
            git.repository,
            files=flux_files(self.environment),
            default_branch=git.base_branch,
            required_checks=checks,
            ci=[CiJob(check, seconds=self.timing.ci_seconds) for check in checks],
        )
        owner = git.repository.split("/")[0]
        installation = service.install(app_id, owner, [git.repository])
        self.credentials = AppCredentials(
            app_id, installation, Secret(key.decode()), api_url=self.github.url
        )

    async def _run_flux(self) -> None:
        """The world on its own: the EventBridge schedules fire, Flux applies, KEDA scales."""
        while True:
            try:
                await asyncio.to_thread(self.tick_world)
            except Exception:  # like Flux: report, and try again at the next interval
                logger.exception("the sandbox Flux failed to apply; retrying")
            await asyncio.sleep(self.timing.flux_interval)

    def tick_world(self) -> None:
        """One tick of the world: due EventBridge schedules fire, Flux, KEDA, the kubelet
        (the sandbox's, unless real ones run)."""
        for schedule, outcome in self.aws.fire_due(self.clock.now()):
            logger.info("EventBridge schedule %s fired: %s", schedule, outcome)
        if self.flux is not None:
            self.flux.tick()

    def _write_kubeconfig(self) -> None:
        self.kubeconfig.write_text(self._kubeconfig_text(), encoding="utf-8")
        os.chmod(self.kubeconfig, 0o600)

    def read_token(self) -> str:
        """An installation token that may only read the repository's contents, as Flux
        is given to fetch it from GitHub."""
        assert self.credentials is not None
        service = self.github.service
        with service.state.lock:
            app = service.state.apps[self.credentials.app_id]
            token = service.issue_token(
                app, self.credentials.installation_id, [self.repository.split("/")[1]],
                {"contents": "read"},
            )  # fmt: skip
        return token.value

    def kubeconfig_with_token(self, path: Path, token: str) -> Path:
        """A kubeconfig for the emulator logged in with ``token`` (the operator's, as its
        ServiceAccount would be: the emulator records who asked for what)."""
        path.write_text(self._kubeconfig_text(token), encoding="utf-8")
        os.chmod(path, 0o600)
        return path

    def _kubeconfig_text(self, token: str | None = None) -> str:
        user = f'{{token: "{token}"}}' if token else "{}"
        return f"""apiVersion: v1
kind: Config
clusters:
  - name: envwake-local
    cluster: {{server: "{self.kubernetes_url}"}}
users:
  - name: envwake-local
    user: {user}
contexts:
  - name: envwake-local
    context: {{cluster: envwake-local, user: envwake-local, namespace: {NAMESPACE}}}
current-context: envwake-local
"""

    # -- the operator --------------------------------------------------------------------------

    def reconciler(self, environment: Environment) -> Reconciler:
        assert self.credentials is not None
        assert self.api is not None
        clock, credentials, repository = self.clock, self.credentials, self.repository
        session = boto_session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        sessions = AwsSessions(
            region=environment.config.aws.region or self.aws.region,
            endpoint_url=self.aws.url,
            session=session,
        )
        adapters = Adapters(
            github=lambda: GitHubSession(
                credentials, repository, sleep=clock.sleep, monotonic=clock.monotonic
            ),
            clone_url=self.github.clone_url(repository),
            workdir=self.workdir / "operator",
            clusters=AuroraClusters(
                sessions, waiting=Waiting(sleep=clock.sleep, monotonic=clock.monotonic)
            ),
            schedules=Schedules(sessions),
            cluster=KubernetesClusterView(self.api.operator_client()),
            timing=Timing(sleep=clock.sleep, monotonic=clock.monotonic),
            # virtual seconds pass quickly: leave room for a busy machine, not a slow Flux
            sync_timeout=self.timing.sync_timeout,
            ready_timeout=self.timing.sync_timeout,
        )
        return Reconciler(environment, adapters)

    def status_sink(self) -> ApiSink:
        """Status and events, written as the operator (with its identity)."""
        assert self.api is not None
        return self.api.status_sink()

    @contextlib.asynccontextmanager
    async def operator(
        self, sink: StatusSink | None = None, *, finished_ttl: float | None = FINISHED_TTL
    ) -> AsyncIterator[Runtime]:
        """Run the operator (Kopf and the runtime) on the stack until the block ends."""
        (self.workdir / "operator").mkdir(exist_ok=True)
        self.runtime = runtime = Runtime(
            {self.environment.name: self.environment},
            self.reconciler,
            sink or self.status_sink(),
            clock=self.clock,
            sleep=self.clock.sleep_until_triggered,
            await_listing=True,
            finished_ttl=finished_ttl,
        )
        registry = handlers.registry(login_from_kubeconfig=False)
        assert self.api is not None
        kopf.on.login(id="local-stack", registry=registry)(self.api.login)
        async with kopf_operator(registry, runtime) as task:
            self._operator_task = task
            yield runtime

    async def operator_stopped(self) -> None:
        """Until the operator stops (Kopf stops on SIGINT/SIGTERM, like `envwake run`)."""
        if self._operator_task is not None:
            await asyncio.wait({self._operator_task})

    # -- reading the stack ---------------------------------------------------------------------

    def cluster_states(self) -> dict[str, str]:
        return {
            c.cluster_id: self.aws.cluster_status(c.cluster_id, account=c.aws_account_id)
            for c in self.environment.clusters
        }

    def schedules_as_configured(self) -> bool:
        """Whether every Aurora schedule is enabled with the config's original expression."""
        for cluster in self.environment.clusters:
            account = cluster.aws_account_id
            if account not in self._schedulers:  # (a session and a client cost 50 ms)
                self._schedulers[account] = self.aws.session(account).client(
                    "scheduler", endpoint_url=self.aws.url
                )
            scheduler = self._schedulers[account]
            for name, expression in (
                (cluster.start_schedule_name, cluster.origin_start_time),
                (cluster.stop_schedule_name, cluster.origin_stop_time),
            ):
                schedule = scheduler.get_schedule(Name=name)
                if schedule["State"] != "ENABLED" or schedule["ScheduleExpression"] != expression:
                    return False
        return True

    def wake_manifest(self, name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "envwake.dev/v1alpha1",
            "kind": "EnvironmentWake",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"environment": self.environment.name, **spec},
        }


class OperatorProcess:
    """``envwake run`` on the stack as the process it is in production, telling time by
    the stack's clock shared at ``clock_file``; each incarnation logs to its own file."""

    def __init__(
        self,
        stack: LocalStack,
        config_dir: Path,
        clock_file: Path | None,
        *,
        kubeconfig: Path | None = None,
        flags: tuple[str, ...] = (),
    ) -> None:
        """``clock_file``: the stack's shared clock, or None for real time; ``kubeconfig``:
        how it logs in (default: the stack's, as the operator's ServiceAccount)."""
        self.stack, self.config_dir, self.clock_file = stack, config_dir, clock_file
        self.kubeconfig, self.flags = kubeconfig, flags
        self.logs: list[Path] = []
        self.process: asyncio.subprocess.Process | None = None
        self.pid = 0  # the running incarnation's; 0 once it is killed or stopped

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None and bool(self.pid)

    async def start(self) -> None:
        credentials = self.stack.credentials
        assert credentials is not None
        log = self.stack.workdir / f"operator-{len(self.logs) + 1}.log"
        self.logs.append(log)
        (self.stack.workdir / "operator").mkdir(exist_ok=True)
        kubeconfig = self.kubeconfig or self.stack.kubeconfig
        if self.kubeconfig is None and self.stack.kubernetes_api is None:  # log in as the operator
            kubeconfig = self.stack.kubeconfig_with_token(
                self.stack.workdir / "operator-kubeconfig", OPERATOR_TOKEN
            )
        with log.open("wb") as output:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "envwake", "run",
                "--config-dir", str(self.config_dir),
                *(("--virtual-clock", str(self.clock_file)) if self.clock_file else ()),
                *self.flags,
                env={
                    **os.environ,
                    "KUBECONFIG": str(kubeconfig),
                    "ENVWAKE_GITHUB_APP_ID": str(credentials.app_id),
                    "ENVWAKE_GITHUB_INSTALLATION_ID": str(credentials.installation_id),
                    "ENVWAKE_GITHUB_PRIVATE_KEY": credentials.private_key.reveal(),
                    "ENVWAKE_GITHUB_API_URL": self.stack.github.url,
                    "ENVWAKE_AWS_ENDPOINT_URL": self.stack.aws.url,
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "ENVWAKE_WORKDIR": str(self.stack.workdir / "operator"),
                },
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
        self.pid = self.process.pid

    def kill(self) -> None:
        """SIGKILL, and return once the process is dead (from any thread: an emulator's
        hook may kill it in the middle of answering it)."""
        pid, self.pid = self.pid, 0
        if not pid:
            return
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (FileNotFoundError, ProcessLookupError):  # reaped (also between open and read)
                return
            if state in ("Z", "X"):
                return
            time.sleep(0.001)
        raise RuntimeError(f"the operator process {pid} outlived SIGKILL")

    async def restart_when_killed(self) -> bool:
        """Start it again if it was killed; whether it was. Exiting by itself is an error."""
        assert self.process is not None
        if self.process.returncode is None and self.pid:
            return False  # still running, not killed
        code = await self.process.wait()
        if code != -signal.SIGKILL:
            raise RuntimeError(f"the operator exited by itself ({code}): {self.tail()}")
        await self.start()
        return True

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self.pid = 0

    def tail(self) -> str:
        return self.logs[-1].read_text(errors="replace")[-3000:] if self.logs else ""


class _NotKopf(Collection[asyncio.Task[Any]]):
    """Kopf cancels the tasks it did not start; keep the caller's own tasks out of that."""

    def __contains__(self, task: object) -> bool:
        coro = task.get_coro() if isinstance(task, asyncio.Task) else None
        code = getattr(coro, "cr_code", None)
        return code is None or "/kopf/" not in code.co_filename

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return (task for task in asyncio.all_tasks() if task in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
