"""The demo's story on the local stack (imported only when ``envwake demo`` runs: the
stack pulls in moto, kmock and Kopf, which ``envwake --help`` should not wait for)."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from rich.console import Console
from rich.live import Live
from rich.syntax import Syntax
from rich.table import Table

from envwake.kube import ApiSink
from envwake.localstack import NAMESPACE, LocalStack
from envwake.model.loading import Environment
from envwake.reconciler.report import Step
from envwake.sandbox.clock import VirtualClock

__all__ = ["Demo", "saturday_morning"]

WAKE_NAME = "demo-saturday"
TERMINAL_PHASES = ("Completed", "Failed")


def saturday_morning(environment: Environment, today: datetime) -> datetime:
    """10:00 on the next Saturday, in the environment's time zone."""
    local = today.astimezone(ZoneInfo(environment.config.timezone))
    days = (5 - local.weekday()) % 7 or 7
    return (local + timedelta(days=days)).replace(hour=10, minute=0, second=0, microsecond=0)


@dataclass
class Record:
    """What the demo saw, in order."""

    phases: list[str] = field(default_factory=list)
    steps: list[tuple[datetime, Step]] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)


class RecordingSink:
    """The operator's status sink (the Kubernetes API), watched on the way through."""

    def __init__(self, inner: ApiSink, record: Record, clock: VirtualClock, show: Any) -> None:
        self.inner, self.record, self.clock, self.show = inner, record, clock, show

    async def write_status(self, body: Mapping[str, Any], status: Mapping[str, Any]) -> None:
        await self.inner.write_status(body, status)
        self.record.status = dict(status)
        phase = str(status.get("phase", ""))
        if phase and (not self.record.phases or self.record.phases[-1] != phase):
            self.record.phases.append(phase)

    async def delete(self, body: Mapping[str, Any]) -> None:
        await self.inner.delete(body)

    async def list_wakes(self, namespaces: Sequence[str]) -> list[dict[str, Any]]:
        return await self.inner.list_wakes(namespaces)

    async def emit(self, body: Mapping[str, Any], step: Step) -> None:
        await self.inner.emit(body, step)
        if all(s is not step for _, s in self.record.steps):
            self.record.steps.append((self.clock.now(), step))
            self.show(self.clock.now(), step)


class Demo:
    def __init__(self, environment: Environment, args: argparse.Namespace) -> None:
        self.environment = environment
        self.json = bool(args.json)
        self.keep = bool(args.keep)
        self.timeout = float(args.timeout)
        self.zone = ZoneInfo(environment.config.timezone)
        self.clock = VirtualClock(
            saturday_morning(environment, datetime.now(UTC)), speed=args.speed
        )
        # --json keeps stdout for the summary; the story goes to stderr
        self.console = Console(stderr=self.json, highlight=False)
        self.record = Record()
        self.started = time.monotonic()
        self.status = 1  # the exit status, once the flow is over

    def local(self, instant: datetime) -> str:
        return instant.astimezone(self.zone).strftime("%a %H:%M:%S")

    def say(self, text: str) -> None:
        self.console.print(text)

    def show_step(self, at: datetime, step: Step) -> None:
        style = "red" if step.type == "Warning" else "green"
        self.console.print(f"  {self.local(at)}  [{style}]{step.reason:<18}[/] {step.message}")

    async def run(self) -> int:
        workdir = Path(tempfile.mkdtemp(prefix="envwake-demo-"))
        try:
            return await self._run(workdir)
        finally:
            if not self.keep:
                shutil.rmtree(workdir, ignore_errors=True)

    async def _run(self, workdir: Path) -> int:
        env = self.environment
        speed = self.clock.speed
        self.say(
            f"[bold]envwake demo[/]: environment [bold]{env.name}[/] "
            f"({len(env.services)} services, {len(env.clusters)} Aurora clusters), "
            f"all emulated on this machine"
        )
        self.say(
            f"The stack's clock starts at {self.local(self.clock.now())} "
            f"({env.config.timezone}) and runs {speed:g}x faster than real time."
        )
        async with LocalStack(env, workdir=workdir, clock=self.clock) as stack:
            self.say(f"Stack up: Kubernetes {stack.kubernetes_url}, GitHub {stack.github.url}, ")
            self.say(f"AWS {stack.aws.url}; clusters {_states(stack.cluster_states())}")
            sink = RecordingSink(stack.status_sink(), self.record, self.clock, self.show_step)
            async with stack.operator(sink) as runtime:
                ok = await self._story(stack, runtime)
                summary = self._summary(stack, ok)
                self.status = 0 if summary["ok"] else 1
                if self.json:
                    print(json.dumps(summary, ensure_ascii=False), flush=True)
                if self.keep:
                    await self._keep(stack)  # until Ctrl-C
        return self.status

    async def _story(self, stack: LocalStack, runtime: Any) -> bool:
        start = self.clock.now()
        self.say(
            f"\n[bold]1. Wake[/] {NAMESPACE}/{WAKE_NAME}: {self.environment.name} from "
            f"{self.local(start)} (a Saturday: the environment sleeps), stop by default"
        )
        await _apply(
            stack,
            stack.wake_manifest(
                WAKE_NAME,
                {
                    "startAt": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "reason": "envwake demo: Saturday release test",
                    "requestedBy": "demo",
                },
            ),
        )
        if not await self._until(stack, ("Awake", "Extending")):
            return False
        stop_text = self.record.status.get("effectiveStopAt")
        if not stop_text:
            self.say("[red]the wake has no effective stop in its status[/]")
            return False
        stop = datetime.fromisoformat(str(stop_text))
        jump = f"the clock jumps from {self.local(self.clock.now())} to {self.local(stop)}"
        self.say(
            f"\n[bold]2. Fast-forward[/]: [yellow]{jump}, the wake's stop[/]"
            " (nothing else is skipped)"
        )
        self.clock.reset(stop, speed=self.clock.speed)
        await runtime.poke(self.environment.name)
        return await self._until(stack, TERMINAL_PHASES)

    async def _until(self, stack: LocalStack, phases: tuple[str, ...]) -> bool:
        """Show the live status until the wake reaches one of ``phases``; False on failure."""
        deadline = self.started + self.timeout
        live = None
        if not self.json and self.console.is_terminal:
            live = Live(self._view(stack), console=self.console, auto_refresh=False)
            live.start()
        try:
            while time.monotonic() < deadline:
                phase = self.record.status.get("phase")
                if live is not None:
                    live.update(self._view(stack), refresh=True)
                if phase in phases:
                    return True
                if phase == "Failed":
                    self.say(f"[red]failed: {self.record.status.get('message')}[/]")
                    return False
                await asyncio.sleep(0.25)
        finally:
            if live is not None:
                live.stop()
        self.say(f"[red]timed out after {self.timeout:g} s waiting for {' or '.join(phases)}[/]")
        return False

    def _view(self, stack: LocalStack) -> Table:
        status = self.record.status
        table = Table(show_header=False, box=None, padding=(0, 1))
        table.add_row("clock", f"{self.local(self.clock.now())} (x{self.clock.speed:g})")
        table.add_row("phase", f"[bold]{status.get('phase', 'Pending')}[/]")
        next_action = status.get("nextAction") or {}
        table.add_row("next", str(next_action.get("description", "-")))
        repo = stack.github.state.repositories[stack.repository]
        for pr in status.get("pullRequests") or []:
            pull = repo.pulls.get(int(pr["number"]))
            checks = ""
            if pull is not None:
                runs = repo.runs_of(pull.head_sha)
                checks = ", ".join(f"{r.name}: {r.conclusion or r.status}" for r in runs)
            table.add_row(f"PR #{pr['number']}", f"{pr['state']}  {checks}")
        for cluster in status.get("clusters") or []:
            table.add_row(f"cluster {cluster.get('id')}", str(cluster.get("state")))
        services = status.get("services") or {}
        table.add_row("services", f"{services.get('ready', 0)}/{services.get('total', 0)} ready")
        return table

    def _summary(self, stack: LocalStack, ok: bool) -> dict[str, Any]:
        repo = stack.github.state.repositories[stack.repository]
        merged = sorted((p for p in repo.pulls.values() if p.merged), key=lambda p: p.number)
        clusters = stack.cluster_states()
        restored = stack.schedules_as_configured()
        seconds = round(time.monotonic() - self.started, 1)
        ok = (
            ok
            and self.record.phases[-1:] == ["Completed"]
            and "Failed" not in self.record.phases
            and bool(merged)
            and all(state == "stopped" for state in clusters.values())
            and restored
            and not any(p.state == "open" for p in repo.pulls.values())
        )
        if not self.json:
            self.say("\n[bold]3. Summary[/]")
            for pull in merged:
                self.say(f"PR #{pull.number} merged: {pull.title}")
                assert pull.merge_commit_sha is not None
                diff = repo.store.git("diff", f"{pull.merge_commit_sha}^", pull.merge_commit_sha)
                self.console.print(
                    Syntax(diff, "diff", theme="ansi_dark", background_color="default")
                )
            self.say(f"clusters: {_states(clusters)}")
            self.say("schedules: " + ("as configured" if restored else "[red]NOT restored[/]"))
            self.say(f"phases: {' -> '.join(self.record.phases)}")
            verdict = "[green]the whole flow succeeded[/]" if ok else "[red]the flow failed[/]"
            self.say(f"{verdict} in {seconds:g} s (real time)")
        return {
            "environment": self.environment.name,
            "wake": f"{NAMESPACE}/{WAKE_NAME}",
            "prs_merged": len(merged),
            "phases": self.record.phases,
            "clusters": clusters,
            "schedules_restored": restored,
            "seconds": seconds,
            "ok": ok,
        }

    async def _keep(self, stack: LocalStack) -> None:
        self.clock.reset(datetime.now(UTC), speed=1.0)
        self.say(
            "\nThe stack stays up, its clock now at real time. In another shell:\n"
            f"  export KUBECONFIG={stack.kubeconfig}\n"
            f"  envwake status\n"
            f"  envwake start {self.environment.name} --for 2h --reason 'trying envwake'\n"
            f"  kubectl get environmentwakes   (with kubectl installed)\n"
            "Press Ctrl-C to stop it."
        )
        await stack.operator_stopped()  # Kopf handles Ctrl-C: the operator ends, then the stack


async def _apply(stack: LocalStack, manifest: dict[str, Any]) -> None:
    url = (
        f"{stack.kubernetes_url}/apis/envwake.dev/v1alpha1/namespaces/{NAMESPACE}/environmentwakes"
    )
    async with aiohttp.ClientSession() as http, http.post(url, json=manifest) as response:
        if response.status not in (200, 201):
            raise RuntimeError(f"the API server refused the wake: {await response.text()}")


def _states(states: Mapping[str, str]) -> str:
    return ", ".join(f"{name} {state}" for name, state in states.items())
