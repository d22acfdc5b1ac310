"""Prometheus metrics: wakes by phase, actions and their durations, pull-request wait
time, failures by reason; rendered in the text exposition format on ``/metrics``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from aiohttp import web

__all__ = ["Metrics", "serve"]

Labels = tuple[tuple[str, str], ...]


def _labels(**labels: str) -> Labels:
    return tuple(sorted(labels.items()))


class Metrics:
    def __init__(self) -> None:
        self.wakes: dict[Labels, float] = {}
        self.actions: dict[Labels, float] = defaultdict(float)
        self.action_seconds_sum: dict[Labels, float] = defaultdict(float)
        self.action_seconds_count: dict[Labels, float] = defaultdict(float)
        self.pull_request_wait_sum: dict[Labels, float] = defaultdict(float)
        self.pull_request_wait_count: dict[Labels, float] = defaultdict(float)
        self.failures: dict[Labels, float] = defaultdict(float)

    def observe_wakes(self, environment: str, phases: Iterable[str]) -> None:
        for key in [k for k in self.wakes if dict(k)["environment"] == environment]:
            del self.wakes[key]
        counts: dict[str, int] = defaultdict(int)
        for phase in phases:
            counts[phase] += 1
        for phase, count in counts.items():
            self.wakes[_labels(environment=environment, phase=phase)] = count

    def observe_reconcile(self, environment: str, state: str, seconds: float) -> None:
        key = _labels(environment=environment, state=state)
        self.actions[key] += 1
        self.action_seconds_sum[key] += seconds
        self.action_seconds_count[key] += 1

    def observe_pull_request_wait(self, environment: str, seconds: float) -> None:
        key = _labels(environment=environment)
        self.pull_request_wait_sum[key] += seconds
        self.pull_request_wait_count[key] += 1

    def observe_failure(self, environment: str, reason: str) -> None:
        self.failures[_labels(environment=environment, reason=reason)] += 1

    def render(self) -> str:
        out: list[str] = []
        families: list[tuple[str, str, str, Mapping[Labels, float]]] = [
            ("envwake_wakes", "gauge", "EnvironmentWakes by environment and phase", self.wakes),
            (
                "envwake_reconciles_total",
                "counter",
                "Reconciles by environment and desired state",
                self.actions,
            ),
            (
                "envwake_reconcile_seconds_sum",
                "counter",
                "Time spent reconciling",
                self.action_seconds_sum,
            ),
            (
                "envwake_reconcile_seconds_count",
                "counter",
                "Reconciles timed",
                self.action_seconds_count,
            ),
            (
                "envwake_pull_request_wait_seconds_sum",
                "counter",
                "From opening to merging a pull request",
                self.pull_request_wait_sum,
            ),
            (
                "envwake_pull_request_wait_seconds_count",
                "counter",
                "Pull requests merged",
                self.pull_request_wait_count,
            ),
            (
                "envwake_failures_total",
                "counter",
                "Failures by environment and reason",
                self.failures,
            ),
        ]
        for name, kind, help_text, values in families:
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            for labels, value in sorted(values.items()):
                rendered = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                out.append(f"{name}{{{rendered}}} {value:g}")
        return "\n".join(out) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


async def serve(metrics: Metrics, *, host: str = "0.0.0.0", port: int) -> web.AppRunner:
    """Serve ``/metrics`` until the returned runner is cleaned up."""

    async def handle(_: web.Request) -> web.Response:
        return web.Response(text=metrics.render(), content_type="text/plain", charset="utf-8")

    app = web.Application()
    app.router.add_get("/metrics", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
