"""The operator between Kopf events: the wakes of each environment, and one loop per
environment that reconciles when a wake changes or the next deadline falls due.

Deadlines are slept until (through an injectable sleep), never polled against the wall
clock. At start-up Kopf resumes every existing wake, and each resume reconciles its
environment, so a deadline missed while the operator was down is acted on then; an
environment is never reconciled before its wakes are known (that would reset it under
them). One reconcile at a time per environment; environments run in parallel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import ValidationError

from envwake.metrics import Metrics
from envwake.model.loading import Environment
from envwake.model.problems import format_location
from envwake.model.wake import WakeSpec
from envwake.planning import WakeRequest
from envwake.reconciler import Reconciler
from envwake.reconciler.report import EnvironmentReport, Step
from envwake.reconciler.status import condition, record_steps, wake_status

__all__ = ["Clock", "Runtime", "StatusSink", "WakeKey", "WallClock", "sleep_until_triggered"]

WakeKey = tuple[str, str]  # namespace, name
logger = logging.getLogger("envwake")


class WallClock(Protocol):
    def now(self) -> datetime: ...


class StatusSink(Protocol):
    """Where status and events go (the Kubernetes API in the operator)."""

    async def write_status(self, body: Mapping[str, Any], status: Mapping[str, Any]) -> None: ...

    async def emit(self, body: Mapping[str, Any], step: Step) -> None: ...


@dataclass
class Clock:
    """Wall time that moves with the event loop's clock (which looptime can fake)."""

    origin: datetime = field(default_factory=lambda: datetime.now(UTC))
    loop_origin: float | None = None

    def now(self) -> datetime:
        loop_time = asyncio.get_running_loop().time()
        if self.loop_origin is None:
            self.loop_origin = loop_time
        return self.origin + timedelta(seconds=loop_time - self.loop_origin)


async def sleep_until_triggered(trigger: asyncio.Event, seconds: float | None) -> None:
    """Sleep until ``trigger`` is set or ``seconds`` pass (forever when None)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(trigger.wait(), timeout=seconds)


@dataclass
class _Wake:
    body: dict[str, Any]
    spec: WakeSpec
    status: dict[str, Any] = field(default_factory=dict)

    @property
    def generation(self) -> int:
        return int(self.body.get("metadata", {}).get("generation") or 1)

    @property
    def start(self) -> datetime:
        """``startAt``, else when the wake was created (not "now" at every reconcile)."""
        if self.spec.start_at is not None:
            return self.spec.start_at
        created = self.body.get("metadata", {}).get("creationTimestamp")
        if created:
            return datetime.fromisoformat(str(created))
        return datetime.now(UTC)


class Runtime:
    def __init__(
        self,
        environments: Mapping[str, Environment],
        reconcilers: Callable[[Environment], Reconciler],
        sink: StatusSink,
        *,
        clock: WallClock | None = None,
        retry_after: float = 60.0,
        sleep: Callable[[asyncio.Event, float | None], Awaitable[None]] = sleep_until_triggered,
        metrics: Metrics | None = None,
    ) -> None:
        self.environments = environments
        self.reconcilers = {name: reconcilers(env) for name, env in environments.items()}
        self.sink = sink
        self.clock: WallClock = clock or Clock()
        self.retry_after = retry_after
        self.sleep = sleep
        self.metrics = metrics or Metrics()
        self.wakes: dict[str, dict[WakeKey, _Wake]] = {name: {} for name in environments}
        self._triggers: dict[str, asyncio.Event] = {}
        self._requested: dict[str, int] = {}  # tickets handed out per environment
        self._completed: dict[str, int] = {}  # the last ticket a finished reconcile covered
        self._progress = asyncio.Condition()
        self._loops: dict[str, asyncio.Task[None]] = {}
        self.reports: dict[str, EnvironmentReport] = {}

    # -- wakes in and out ----------------------------------------------------------------------

    async def upsert(self, body: Mapping[str, Any]) -> None:
        """A wake was created, changed, or found at start-up."""
        key = _key(body)
        spec, problem = self._validate(body)
        for wakes in self.wakes.values():
            wakes.pop(key, None)
        if spec is None:
            await self._invalid(body, problem)
            return
        self.wakes[spec.environment][key] = _Wake(dict(body), spec, dict(body.get("status") or {}))
        self._trigger(spec.environment)

    async def remove(self, body: Mapping[str, Any]) -> bool:
        """A wake is being deleted: stop it now (put the environment to sleep if nothing
        else needs it), then reset without it. Returns False, keeping the wake, when the
        stop failed for a passing reason (call again later: the finalizer must stay)."""
        key = _key(body)
        for name, wakes in self.wakes.items():
            wake = wakes.get(key)
            if wake is None:
                continue
            now = self.clock.now()
            start = wake.start
            if start < now < (wake.spec.stop_at or now + timedelta(days=1)):
                wake.spec = wake.spec.model_copy(update={"start_at": start, "stop_at": now})
            await self._converged(name, self._trigger(name))
            failure = self.reports[name].failure if name in self.reports else None
            if failure is not None and failure.transient:
                return False
            wakes.pop(key, None)
            await self._converged(name, self._trigger(name))
        return True

    async def cancel(self, body: Mapping[str, Any]) -> bool:
        """A wake was withdrawn (``spec.cancelled``): end it as a delete would, then say so
        in its status. False when ending it failed for a passing reason (call again)."""
        if not await self.remove(body):
            return False
        message = "cancelled; the environment follows its other wakes and normal schedule"
        await self._conclude(
            body,
            "Completed",
            "Cancelled",
            message,
            {"Ready": True, "Awake": False, "Failed": False},
        )
        return True

    async def poke(self, name: str) -> None:
        """Reconcile ``name`` now (its clock or config changed), and wait until done."""
        await self._converged(name, self._trigger(name))

    async def _converged(self, name: str, ticket: int) -> None:
        """Wait until a reconcile that started after ``ticket`` was handed out finished."""
        async with self._progress:
            await self._progress.wait_for(lambda: self._completed.get(name, 0) >= ticket)

    def _validate(self, body: Mapping[str, Any]) -> tuple[WakeSpec | None, str]:
        try:
            spec = WakeSpec.model_validate(body.get("spec") or {})
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            message = first["msg"].removeprefix("Value error, ")
            where = format_location(first["loc"])
            return None, f"spec.{where}: {message}" if where else f"spec: {message}"
        if spec.environment not in self.environments:
            known = ", ".join(sorted(self.environments)) or "none"
            return (
                None,
                f"spec.environment: unknown environment {spec.environment!r} (known: {known})",
            )
        return spec, ""

    async def _invalid(self, body: Mapping[str, Any], problem: str) -> None:
        reason = "EnvironmentUnknown" if "unknown environment" in problem else "WakeInvalid"
        await self._conclude(
            body, "Failed", reason, problem, {"Ready": False, "Valid": False, "Failed": True}
        )

    async def _conclude(
        self,
        body: Mapping[str, Any],
        phase: str,
        reason: str,
        message: str,
        conditions: Mapping[str, bool],
    ) -> None:
        """The last word on a wake the operator will not plan: its status and one event."""
        generation = int(body.get("metadata", {}).get("generation") or 1)
        now = self.clock.now()
        old = list((body.get("status") or {}).get("conditions") or [])
        status = {
            "observedGeneration": generation,
            "phase": phase,
            "message": message,
            "conditions": [
                condition(
                    kind, value, reason, message, generation=generation, now=now, previous=old
                )
                for kind, value in conditions.items()
            ],
        }
        await self.sink.write_status(body, status)
        await self.sink.emit(
            body, Step(reason, message, "Warning" if phase == "Failed" else "Normal")
        )

    # -- one loop per environment ---------------------------------------------------------------

    def _trigger(self, name: str) -> int:
        """Ask for a reconcile of ``name``; returns a ticket to wait for with _converged."""
        self._requested[name] = ticket = self._requested.get(name, 0) + 1
        self._triggers.setdefault(name, asyncio.Event()).set()
        if name not in self._loops or self._loops[name].done():
            self._loops[name] = asyncio.create_task(self._loop(name), name=f"envwake-{name}")
        return ticket

    async def stop(self) -> None:
        for task in self._loops.values():
            task.cancel()
        await asyncio.gather(*self._loops.values(), return_exceptions=True)

    async def _loop(self, name: str) -> None:
        trigger = self._triggers[name]
        while True:
            trigger.clear()
            ticket = self._requested.get(name, 0)
            try:
                delay = await self._reconcile(name)
            except Exception:  # a status or event write failed: keep the loop, retry later
                logger.exception("reconciling environment %s failed; retrying", name)
                delay = self.retry_after
            async with self._progress:
                self._completed[name] = ticket
                self._progress.notify_all()
            await self.sleep(trigger, delay)

    def _measure(self, name: str, report: EnvironmentReport, seconds: float) -> None:
        self.metrics.observe_reconcile(name, report.desired.value, seconds)
        for wait in _measured_pull_request_waits(report):
            self.metrics.observe_pull_request_wait(name, wait)
        if report.failure is not None:
            self.metrics.observe_failure(name, report.failure.reason)

    async def _reconcile(self, name: str) -> float | None:
        """Converge ``name`` now; returns how long to sleep until the next deadline."""
        wakes = dict(self.wakes[name])
        now = self.clock.now()
        requests = [
            WakeRequest(w.start, w.spec.stop_at, name=f"{k[0]}/{k[1]}") for k, w in wakes.items()
        ]
        labels = tuple(_label(k, w) for k, w in wakes.items())
        reasons = sorted({w.spec.reason for w in wakes.values() if w.spec.reason})
        reconciler = self.reconcilers[name]
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        progress: asyncio.Queue[Step | EnvironmentReport | None] = asyncio.Queue()
        publisher = asyncio.create_task(self._publish(name, wakes, progress))

        def on_progress(item: Step | EnvironmentReport) -> None:  # in the reconciler's thread
            if isinstance(item, Step):
                level = logging.WARNING if item.type == "Warning" else logging.INFO
                logger.log(level, "%s: %s: %s", name, item.reason, item.message)
            loop.call_soon_threadsafe(progress.put_nowait, item)

        try:
            report = await asyncio.to_thread(
                reconciler.converge,
                requests,
                now=now,
                labels=labels,
                reason="; ".join(reasons) or None,
                on_step=on_progress,
                on_start=on_progress,
            )
        finally:
            progress.put_nowait(None)  # after the steps: the thread queued those first
            published = await publisher
        self.reports[name] = report
        self._measure(name, report, time.monotonic() - started)
        for (key, wake), planned in zip(wakes.items(), report.plan.wakes, strict=True):
            if self.wakes[name].get(key) is not wake:
                continue  # deleted or changed while we worked: its own reconcile follows
            unpublished = [s for s in report.steps if (id(s), key) not in published]
            steps = record_steps(wake.status.get("steps") or [], unpublished, now=self.clock.now())
            wake.status = wake_status(
                planned, report, generation=wake.generation, previous=wake.status
            )
            wake.status["steps"] = steps
            await self.sink.write_status(wake.body, wake.status)
            for step in unpublished:
                await self.sink.emit(wake.body, step)
        self.metrics.observe_wakes(
            name, [w.status.get("phase", "Scheduled") for w in self.wakes[name].values()]
        )
        if report.failure is not None and report.failure.transient:
            return float(getattr(report.failure, "retry_after", self.retry_after))
        following = report.plan.next_action(now)
        if following is None:
            return None
        return max((following.at - self.clock.now()).total_seconds(), 0.0)

    async def _publish(
        self,
        name: str,
        wakes: Mapping[WakeKey, _Wake],
        progress: asyncio.Queue[Step | EnvironmentReport | None],
    ) -> set[tuple[int, WakeKey]]:
        """Progress while a reconcile runs (people watch a wake for the minutes a cluster
        start or a pull request's checks take): the phase it enters (Starting, Stopping)
        once the plan is known, then each step as an event and in the status (message and
        steps). Returns which step reached which wake; the reconcile's end sends the rest."""
        published: set[tuple[int, WakeKey]] = set()
        while (item := await progress.get()) is not None:
            current = [(k, w) for k, w in wakes.items() if self.wakes[name].get(k) is w]
            if isinstance(item, EnvironmentReport):
                try:
                    await self._entering(current, wakes, item)
                except Exception:  # best effort: the reconcile's end writes the status
                    logger.exception("publishing the progress of %s failed", name)
                continue
            for key, wake in current:
                try:
                    await self.sink.emit(wake.body, item)
                    steps = record_steps(
                        wake.status.get("steps") or [], [item], now=self.clock.now()
                    )
                    await self.sink.write_status(
                        wake.body, {"message": item.message, "steps": steps}
                    )
                    wake.status["steps"] = steps
                    published.add((id(item), key))
                except Exception:  # best effort: the reconcile's end sends what did not go out
                    logger.exception("publishing the progress of %s failed", name)
        return published

    async def _entering(
        self,
        current: list[tuple[WakeKey, _Wake]],
        wakes: Mapping[WakeKey, _Wake],
        report: EnvironmentReport,
    ) -> None:
        planned = dict(zip(wakes, report.plan.wakes, strict=True))
        for key, wake in current:
            status = wake_status(
                planned[key], report, generation=wake.generation, previous=wake.status
            )
            status["steps"] = wake.status.get("steps") or []
            if wake.status.get("phase") in _ENTERING.get(status["phase"], ()):
                wake.status = status
                await self.sink.write_status(wake.body, status)


# The phases a reconcile enters before it finishes, and the phases they follow
_ENTERING: dict[str, tuple[str | None, ...]] = {
    "Starting": (None, "Scheduled"),
    "Stopping": ("Awake", "Extending"),
}


def _measured_pull_request_waits(report: EnvironmentReport) -> list[float]:
    opened = [s.at for s in report.steps if s.reason == "PullRequestOpened"]
    merged = [s.at for s in report.steps if s.reason == "Merged"]
    return [m - o for o, m in zip(opened, merged, strict=False)]


def _key(body: Mapping[str, Any]) -> WakeKey:
    meta = body.get("metadata", {})
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def _label(key: WakeKey, wake: _Wake) -> str:
    who = f" (requested by {wake.spec.requested_by})" if wake.spec.requested_by else ""
    return f"{key[0]}/{key[1]}{who}"
