"""``envwake run``: the operator, with every setting from a flag or an environment variable."""

from __future__ import annotations

import argparse
import os
import ssl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from envwake import configdir, errors
from envwake.cli.parsing import fail
from envwake.model.durations import parse_duration

__all__ = ["OperatorSettings", "clone_url", "register", "settings_from"]


@dataclass(frozen=True)
class OperatorSettings:
    config_dir: Path
    namespaces: tuple[str, ...]  # empty: all namespaces
    github_secret_dir: Path | None
    github_api_url: str | None
    aws_endpoint_url: str | None
    aws_region: str
    log_format: str
    liveness: str | None
    metrics_port: int | None
    workdir: Path
    finished_ttl: float | None = 7 * 24 * 3600.0  # None: finished wakes stay
    poll_interval: float = 10.0  # seconds between looks at CI, Flux and the cluster
    ready_timeout: float = 15 * 60.0  # seconds for a wave's pods to be ready once applied
    virtual_clock: Path | None = None  # the local stack's shared clock, for tests


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the operator (reconcile EnvironmentWakes)",
        description="Run the operator. Every flag has an environment variable in brackets.",
    )
    parser.add_argument(
        "--config-dir",
        default=_env("ENVWAKE_CONFIG_DIR", "config"),
        help="environment configs [ENVWAKE_CONFIG_DIR]",
    )
    parser.add_argument(
        "--namespace",
        action="append",
        default=None,
        help="a namespace to watch; repeatable; default all [ENVWAKE_NAMESPACES]",
    )
    parser.add_argument(
        "--github-secret-dir",
        default=_env("ENVWAKE_GITHUB_SECRET_DIR"),
        help="mounted Secret with app-id, installation-id, private-key "
        "[ENVWAKE_GITHUB_SECRET_DIR]; else ENVWAKE_GITHUB_* variables",
    )
    parser.add_argument(
        "--github-api-url",
        default=_env("ENVWAKE_GITHUB_API_URL"),
        help="GitHub (Enterprise) API URL [ENVWAKE_GITHUB_API_URL]",
    )
    parser.add_argument(
        "--aws-endpoint-url",
        default=_env("ENVWAKE_AWS_ENDPOINT_URL"),
        help="AWS endpoint override, for the local stack [ENVWAKE_AWS_ENDPOINT_URL]",
    )
    parser.add_argument(
        "--aws-region",
        default=_env("AWS_REGION", "ap-northeast-1"),
        help="default AWS region [AWS_REGION]",
    )
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=_env("ENVWAKE_LOG_FORMAT", "text"),
        help="[ENVWAKE_LOG_FORMAT]",
    )
    parser.add_argument(
        "--liveness",
        default=_env("ENVWAKE_LIVENESS"),
        help="liveness endpoint, like http://0.0.0.0:8080/healthz [ENVWAKE_LIVENESS]",
    )
    parser.add_argument(
        "--metrics-port",
        default=_env("ENVWAKE_METRICS_PORT"),
        help="serve Prometheus metrics on /metrics at this port [ENVWAKE_METRICS_PORT]",
    )
    parser.add_argument(
        "--workdir",
        default=_env("ENVWAKE_WORKDIR"),
        help="scratch space for working copies [ENVWAKE_WORKDIR]",
    )
    parser.add_argument(
        "--finished-ttl",
        default=_env("ENVWAKE_FINISHED_TTL", "7d"),
        help="delete a finished wake this long after it finished, like 7d or 12h; 0 keeps "
        "them (its record stays in the events and pull requests) [ENVWAKE_FINISHED_TTL]",
    )
    parser.add_argument(
        "--poll-interval",
        default=_env("ENVWAKE_POLL_INTERVAL", "10s"),
        help="how often to look again at CI checks, Flux, the workloads and Aurora while "
        "waiting for them, like 10s or 2s [ENVWAKE_POLL_INTERVAL]",
    )
    parser.add_argument(
        "--ready-timeout",
        default=_env("ENVWAKE_READY_TIMEOUT", "15m"),
        help="how long a wave's pods may take to be ready once Flux applied it, like 15m "
        "[ENVWAKE_READY_TIMEOUT]",
    )
    parser.add_argument(  # the local stack's time, for tests that run the real process
        "--virtual-clock", default=_env("ENVWAKE_VIRTUAL_CLOCK"), help=argparse.SUPPRESS
    )
    parser.set_defaults(run=run)


def settings_from(args: argparse.Namespace) -> OperatorSettings:
    namespaces = args.namespace or [
        n for n in (_env("ENVWAKE_NAMESPACES") or "").split(",") if n.strip()
    ]
    liveness = args.liveness
    if liveness and not urlsplit(liveness).scheme.startswith("http"):
        raise errors.EnvwakeError(
            f"--liveness {liveness!r} must be an http:// URL with a host and port"
        )
    port = args.metrics_port
    if port is not None and not (str(port).isdigit() and 0 < int(port) < 65536):
        raise errors.EnvwakeError(f"--metrics-port {port!r} must be a TCP port number")
    try:
        ttl = parse_duration(str(args.finished_ttl)).total_seconds()
    except ValueError as exc:
        raise errors.EnvwakeError(f"--finished-ttl: {exc}") from None
    try:
        poll = parse_duration(str(args.poll_interval)).total_seconds()
    except ValueError as exc:
        raise errors.EnvwakeError(f"--poll-interval: {exc}") from None
    if not 1 <= poll <= 300:
        raise errors.EnvwakeError(
            f"--poll-interval {args.poll_interval!r} must be between 1s and 5m"
        )
    try:
        ready_timeout = parse_duration(str(args.ready_timeout)).total_seconds()
    except ValueError as exc:
        raise errors.EnvwakeError(f"--ready-timeout: {exc}") from None
    if ready_timeout < 1:
        raise errors.EnvwakeError(f"--ready-timeout {args.ready_timeout!r} must be at least 1s")
    if args.virtual_clock and not Path(args.virtual_clock).is_file():
        raise errors.EnvwakeError(f"--virtual-clock {args.virtual_clock!r}: no such file")
    return OperatorSettings(
        config_dir=Path(args.config_dir),
        namespaces=tuple(n.strip() for n in namespaces),
        github_secret_dir=Path(args.github_secret_dir) if args.github_secret_dir else None,
        github_api_url=args.github_api_url,
        aws_endpoint_url=args.aws_endpoint_url,
        aws_region=args.aws_region,
        log_format=args.log_format,
        liveness=liveness,
        metrics_port=int(port) if port is not None else None,
        workdir=Path(args.workdir) if args.workdir else Path(tempfile.gettempdir()),
        finished_ttl=ttl or None,
        poll_interval=poll,
        ready_timeout=ready_timeout,
        virtual_clock=Path(args.virtual_clock) if args.virtual_clock else None,
    )


def clone_url(api_url: str, repository: str) -> str:
    """Where git finds ``repository``: github.com, a GitHub Enterprise host, or the emulator."""
    parts = urlsplit(api_url)
    if parts.netloc == "api.github.com":
        return f"https://github.com/{repository}.git"
    if parts.path.rstrip("/").endswith("/api/v3"):
        return f"{parts.scheme}://{parts.netloc}/{repository}.git"
    return f"{api_url.rstrip('/')}/{repository}.git"


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    environments, problems = configdir.load_config_dir(settings.config_dir)
    if problems:
        fail("invalid environment configs: " + "; ".join(str(p) for p in problems))
    from envwake.gitops import AppCredentials  # imported late: `envwake --help` stays fast

    if settings.github_secret_dir is not None:
        credentials = AppCredentials.from_directory(settings.github_secret_dir)
    else:
        credentials = AppCredentials.from_environment()
    if settings.github_api_url:
        credentials = AppCredentials(
            credentials.app_id,
            credentials.installation_id,
            credentials.private_key,
            settings.github_api_url.rstrip("/"),
        )
    _operate(settings, environments, credentials)
    return 0


def _operate(settings: OperatorSettings, environments: dict[str, Any], credentials: Any) -> None:
    import kopf
    from kubernetes import client, config

    from envwake import handlers
    from envwake.aws import AuroraClusters, AwsSessions, Schedules, Waiting
    from envwake.gitops import GitHubSession, Timing
    from envwake.kube import ApiSink, KubernetesClusterView
    from envwake.reconciler import Adapters, Reconciler
    from envwake.runtime import Runtime, sleep_until_triggered
    from envwake.sandbox.clock import VirtualClock

    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        config.load_kube_config()  # type: ignore[no-untyped-call]
    configuration = client.Configuration.get_default_copy()
    api = client.ApiClient(configuration)
    # The kubernetes client keeps a token under "BearerToken" (in a pod, and from a
    # kubeconfig), with its "Bearer " prefix; status and events go out with the same one.
    token = configuration.get_api_key_with_prefix(
        "BearerToken"
    ) or configuration.get_api_key_with_prefix("authorization")
    headers = {"Authorization": token} if token else {}
    context = (
        ssl.create_default_context(cafile=configuration.ssl_ca_cert)
        if configuration.ssl_ca_cert
        else None
    )
    if configuration.cert_file and configuration.key_file:  # a kubeconfig's client certificate
        context = context or ssl.create_default_context()
        context.load_cert_chain(configuration.cert_file, configuration.key_file)
    sink = ApiSink(configuration.host, headers=headers, ssl=context)

    clock = VirtualClock.follow(settings.virtual_clock) if settings.virtual_clock else None
    sleep, monotonic = (clock.sleep, clock.monotonic) if clock else (time.sleep, time.monotonic)

    poll = settings.poll_interval
    waiting = Waiting(first=min(Waiting.first, poll), sleep=sleep, monotonic=monotonic)

    def reconciler(environment: Any) -> Reconciler:
        repository = environment.config.git.repository
        sessions = AwsSessions(
            region=environment.config.aws.region or settings.aws_region,
            endpoint_url=settings.aws_endpoint_url,
        )
        adapters = Adapters(
            github=lambda: GitHubSession(credentials, repository, sleep=sleep, monotonic=monotonic),
            clone_url=clone_url(credentials.api_url, repository),
            workdir=settings.workdir,
            clusters=AuroraClusters(sessions, waiting=waiting),
            schedules=Schedules(sessions),
            cluster=KubernetesClusterView(api),
            timing=Timing(poll=poll, sleep=sleep, monotonic=monotonic),
            ready_timeout=settings.ready_timeout,
        )
        return Reconciler(environment, adapters)

    # Without this, Python's last-resort handler shows warnings only: no step would be logged.
    kopf.configure(
        log_format=kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.FULL
    )
    deadline_sleep = clock.sleep_until_triggered if clock else sleep_until_triggered
    runtime = Runtime(
        environments,
        reconciler,
        sink,
        clock=clock,
        sleep=deadline_sleep,
        await_listing=True,
        finished_ttl=settings.finished_ttl,
    )
    kopf.run(
        registry=handlers.registry(),
        clusterwide=not settings.namespaces,
        namespaces=list(settings.namespaces),
        standalone=True,
        liveness_endpoint=settings.liveness,
        memo=kopf.Memo(
            runtime=runtime,
            metrics_port=settings.metrics_port,
            namespaces=list(settings.namespaces),
        ),
    )
