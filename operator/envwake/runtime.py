"""The operator between Kopf events: the wakes of each environment, and one loop per
environment that reconciles when a wake changes or the next deadline falls due.

Deadlines are slept until (through an injectable sleep), never polled against the wall
clock. Nothing is reconciled before every wake is known (``adopt`` takes the initial
listing of every watched namespace): a reset must never be opened under a wake the
operator has not seen yet. A deadline missed while the operator was down is acted on
at its first reconcile. One reconcile at a time per environment; environments run in
parallel.

Each wake is its own: one that cannot be planned is Failed with its reason and the
others go on; status and events go to the wakes a reconcile concerns, on transitions
only; a finished wake keeps its final status and is deleted ``finished_ttl`` after it
finished. What envwake must remember across restarts (each service's minReplicaCount
before it first changed it) is kept in the wakes' status before anything is pushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import ValidationError

from envwake import errors
from envwake.metrics import Metrics
from envwake.model.loading import Environment
from envwake.model.problems import format_location
from envwake.model.wake import WakeSpec
from envwake.planning import Rules, WakeRequest, plan_environment
from envwake.reconciler import Reconciler, Record
from envwake.reconciler.report import EnvironmentReport, Step
from envwake.reconciler.status import condition, record_steps, rfc3339
from envwake.reconciler.wakestatus import (
    heard_step,
    hears,
    next_status,
    record_from_status,
    record_status,
    told_before,
    transitions,
)

__all__ = [
    "FINISHED_TTL",
    "Clock",
    "Runtime",
    "StatusSink",
    "WakeKey",
    "WallClock",
    "sleep_until_triggered",
]

WakeKey = tuple[str, str]  # namespace, name
logger = logging.getLogger("envwake")
FINISHED_TTL = 7 * 24 * 3600.0  # like a Job's ttlSecondsAfterFinished, a week
PERMANENT_RETRY = 15 * 60.0  # a deletion that failed for good is tried again this late
_KEEP_ATTEMPTS = 3  # what must survive a restart is written harder than progress


class WallClock(Protocol):
    def now(self) -> datetime: ...


class StatusSink(Protocol):
    """Where wakes are read and status and events go (the Kubernetes API)."""

    async def write_status(self, body: Mapping[str, Any], status: Mapping[str, Any]) -> None: ...

    async def emit(self, body: Mapping[str, Any], step: Step) -> None: ...

    async def delete(self, body: Mapping[str, Any]) -> None: ...

    async def list_wakes(self, namespaces: Sequence[str]) -> list[dict[str, Any]]: ...


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
    first_seen: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended_seen: datetime | None = None  # when the deletion (or cancellation) was first seen

    @property
    def meta(self) -> Mapping[str, Any]:
        return self.body.get("metadata") or {}

    @property
    def generation(self) -> int:
        return int(self.meta.get("generation") or 1)

    @property
    def start(self) -> datetime:
        """``startAt``, else when the wake was created (not "now" at every reconcile)."""
        if self.spec.start_at is not None:
            return self.spec.start_at
        created = self.meta.get("creationTimestamp")
        return datetime.fromisoformat(str(created)) if created else self.first_seen

    @property
    def ending(self) -> bool:
        return bool(self.meta.get("deletionTimestamp")) or self.spec.cancelled

    @property
    def stop(self) -> datetime | None:
        """``stopAt``, cut short when the wake is deleted or cancelled: at the deletion (or
        when the operator first saw it, if that is earlier: clocks differ)."""
        if not self.ending or self.ended_seen is None:
            return self.spec.stop_at
        ended = self.ended_seen
        if self.meta.get("deletionTimestamp"):
            ended = min(ended, datetime.fromisoformat(str(self.meta["deletionTimestamp"])))
        return ended if self.spec.stop_at is None else min(ended, self.spec.stop_at)

    @property
    def finished(self) -> bool:
        return bool(self.status.get("finishedAt")) and (
            self.status.get("observedGeneration") == self.generation
        )

    @property
    def planned(self) -> bool:
        """Whether it takes part in planning: not finished, and not ended before it began."""
        stop = self.stop
        return not self.finished and (stop is None or stop > self.start)

    def request(self, key: WakeKey) -> WakeRequest:
        return WakeRequest(self.start, self.stop, name=f"{key[0]}/{key[1]}")


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
        finished_ttl: float | None = FINISHED_TTL,
        await_listing: bool = False,
    ) -> None:
        self.environments = environments
        self.rules = {name: Rules.from_config(env.config) for name, env in environments.items()}
        self.reconcilers = {name: reconcilers(env) for name, env in environments.items()}
        self.sink = sink
        self.clock: WallClock = clock or Clock()
        self.retry_after = retry_after
        self.sleep = sleep
        self.metrics = metrics or Metrics()
        self.finished_ttl = finished_ttl
        self.wakes: dict[str, dict[WakeKey, _Wake]] = {name: {} for name in environments}
        self.records: dict[str, Record] = {name: Record() for name in environments}
        self.reports: dict[str, EnvironmentReport] = {}
        self.listed = asyncio.Event()
        if not await_listing:
            self.listed.set()
        self._triggers: dict[str, asyncio.Event] = {}
        self._requested: dict[str, int] = {}  # tickets handed out per environment
        self._completed: dict[str, int] = {}  # the last ticket a finished reconcile covered
        self._outcomes: dict[str, EnvironmentReport | None] = {}  # None: the reconcile broke
        self._progress = asyncio.Condition()
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._finished: dict[WakeKey, tuple[dict[str, Any], datetime]] = {}  # body, when
        self._janitor: asyncio.Task[None] | None = None
        self._janitor_trigger = asyncio.Event()

    # -- start-up ------------------------------------------------------------------------------

    async def adopt(self, namespaces: Sequence[str]) -> None:
        """Know every wake of ``namespaces`` (all when empty), then start reconciling."""
        listing = await self.sink.list_wakes(namespaces)
        for body in listing:
            await self._take(body)
        self.listed.set()
        for name, wakes in self.wakes.items():
            if wakes:
                self._trigger(name)

    # -- wakes in and out ----------------------------------------------------------------------

    async def upsert(self, body: Mapping[str, Any]) -> None:
        """A wake was created, changed, or found at start-up."""
        environment = await self._take(body)
        if environment is not None:
            self._trigger(environment)

    async def _take(self, body: Mapping[str, Any]) -> str | None:
        """Know ``body``; returns its environment when it is plannable."""
        key = _key(body)
        spec, problem = self._validate(body)
        known = self._find(key)
        if known is not None and (spec is None or spec.environment != known[0]):
            self.wakes[known[0]].pop(key, None)
            known = None
        if spec is None:
            if problem is not None:
                await self._invalid(body, problem)
            return None
        if known is not None:  # the same wake, as a reconcile in flight knows it
            wake = known[1]
            wake.body, wake.spec = dict(body), spec
            status = wake.status  # the operator writes it: what it wrote last is the truth
        else:
            status = dict(body.get("status") or {})
            wake = _Wake(dict(body), spec, status, first_seen=self.clock.now())
            self.wakes[spec.environment][key] = wake
        if wake.ending and wake.ended_seen is None:
            wake.ended_seen = self.clock.now()
        if wake.finished:
            self._expire_later(key, body, status)
            return None
        record = record_from_status(status)
        if record and not self.records[spec.environment]:
            self.records[spec.environment] = record  # what a wake remembered for the env
        return spec.environment

    def _find(self, key: WakeKey) -> tuple[str, _Wake] | None:
        for name, wakes in self.wakes.items():
            if key in wakes:
                return name, wakes[key]
        return None

    async def remove(self, body: Mapping[str, Any]) -> float | None:
        """A wake is being deleted: stop it now (put the environment to sleep if nothing
        else needs it), then reset without it. Returns None when done (the finalizer may
        go), else when to try again: the environment is not back yet."""
        await self._take(body)  # also when the operator was down while it was deleted
        found = self._find(_key(body))
        if found is None:
            return None  # invalid, or of an environment this operator does not run
        name, wake = found
        if not wake.finished:
            retry = self._failed(await self._converged(name, self._trigger(name)))
            if retry is not None:
                return retry
        self.wakes[name].pop(_key(body), None)
        self._finished.pop(_key(body), None)
        return self._failed(await self._converged(name, self._trigger(name)))

    async def cancel(self, body: Mapping[str, Any]) -> float | None:
        """A wake was withdrawn (``spec.cancelled``): end it as a delete would, then say so
        in its status. None when done, else when to try again."""
        found = self._find(_key(body))
        if found is not None and found[1].finished:
            return None
        await self._take(body)
        found = self._find(_key(body))
        if found is None:
            return None
        name, wake = found
        retry = self._failed(await self._converged(name, self._trigger(name)))
        if retry is not None:
            return retry
        message = "cancelled; the environment follows its other wakes and normal schedule"
        status = await self._conclude(
            wake.body,
            "Completed",
            "Cancelled",
            message,
            {"Ready": True, "Awake": False, "Failed": False},
        )
        wake.status.update({k: v for k, v in status.items() if v is not None})
        self._expire_later(_key(body), wake.body, wake.status)
        return self._failed(await self._converged(name, self._trigger(name)))

    def _failed(self, report: EnvironmentReport | None) -> float | None:
        if report is None:
            return self.retry_after
        if report.failure is None:
            return None
        if report.failure.transient:
            return float(getattr(report.failure, "retry_after", self.retry_after))
        return PERMANENT_RETRY

    async def poke(self, name: str) -> None:
        """Reconcile ``name`` now (its clock or config changed), and wait until done."""
        await self._converged(name, self._trigger(name))

    async def _converged(self, name: str, ticket: int) -> EnvironmentReport | None:
        """Wait until a reconcile that started after ``ticket`` was handed out finished;
        what it reported (None: it broke before reporting)."""
        async with self._progress:
            await self._progress.wait_for(lambda: self._completed.get(name, 0) >= ticket)
            return self._outcomes.get(name)

    def _validate(self, body: Mapping[str, Any]) -> tuple[WakeSpec | None, str | None]:
        """The spec, or why it cannot be planned (None: it is not ours to plan)."""
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
        wake = _Wake(dict(body), spec)
        request = WakeRequest(wake.start, spec.stop_at, name="/".join(_key(body)))
        try:
            plan_environment(self.rules[spec.environment], [request], now=wake.start)
        except errors.WakeInvalid as exc:
            where = "spec.stopAt" if spec.stop_at is not None else "spec"
            created = "" if spec.start_at is not None else " (when the wake was created)"
            return None, f"{where}: {str(exc).split(': ', 1)[-1]}{created}"
        return spec, None

    async def _invalid(self, body: Mapping[str, Any], problem: str) -> None:
        reason = "EnvironmentUnknown" if "unknown environment" in problem else "WakeInvalid"
        generation = int((body.get("metadata") or {}).get("generation") or 1)
        old = body.get("status") or {}
        if old.get("observedGeneration") == generation and old.get("message") == problem:
            return  # told already
        status = await self._conclude(
            body, "Failed", reason, problem, {"Ready": False, "Valid": False, "Failed": True}
        )
        self._expire_later(_key(body), body, status)

    async def _conclude(
        self,
        body: Mapping[str, Any],
        phase: str,
        reason: str,
        message: str,
        conditions: Mapping[str, bool],
    ) -> dict[str, Any]:
        """The last word on a wake the operator will not plan: its status and one event."""
        generation = int(body.get("metadata", {}).get("generation") or 1)
        now = self.clock.now()
        old = list((body.get("status") or {}).get("conditions") or [])
        status: dict[str, Any] = {
            "observedGeneration": generation,
            "phase": phase,
            "message": message,
            "nextAction": None,
            "finishedAt": rfc3339(now),
            "restore": None,
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
        return status

    # -- finished wakes go after a while -------------------------------------------------------

    def _expire_later(
        self, key: WakeKey, body: Mapping[str, Any], status: Mapping[str, Any]
    ) -> None:
        if self.finished_ttl is None:
            return
        finished = status.get("finishedAt")
        when = datetime.fromisoformat(str(finished)) if finished else self.clock.now()
        self._finished[key] = (dict(body), when + timedelta(seconds=self.finished_ttl))
        if self._janitor is None or self._janitor.done():
            self._janitor = asyncio.create_task(self._expire(), name="envwake-janitor")
        self._janitor_trigger.set()

    async def _expire(self) -> None:
        while True:
            self._janitor_trigger.clear()
            now = self.clock.now()
            for key, (body, due) in list(self._finished.items()):
                if due <= now:
                    self._finished.pop(key, None)
                    try:
                        await self.sink.delete(body)
                    except Exception:  # the API is away: the next start-up finds it again
                        logger.exception("deleting the finished wake %s/%s failed", *key)
            following = min((due for _, due in self._finished.values()), default=None)
            delay = None if following is None else max((following - now).total_seconds(), 0.0)
            await self.sleep(self._janitor_trigger, delay)

    # -- one loop per environment ---------------------------------------------------------------

    def _trigger(self, name: str) -> int:
        """Ask for a reconcile of ``name``; returns a ticket to wait for with _converged."""
        self._requested[name] = ticket = self._requested.get(name, 0) + 1
        self._triggers.setdefault(name, asyncio.Event()).set()
        if name not in self._loops or self._loops[name].done():
            self._loops[name] = asyncio.create_task(self._loop(name), name=f"envwake-{name}")
        return ticket

    async def stop(self) -> None:
        tasks = [*self._loops.values(), *([self._janitor] if self._janitor else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self, name: str) -> None:
        await self.listed.wait()
        trigger = self._triggers[name]
        while True:
            trigger.clear()
            ticket = self._requested.get(name, 0)
            report: EnvironmentReport | None = None
            try:
                report, delay = await self._reconcile(name)
            except Exception:  # a status or event write failed: keep the loop, retry later
                logger.exception("reconciling environment %s failed; retrying", name)
                delay = self.retry_after
            async with self._progress:
                self._completed[name] = ticket
                self._outcomes[name] = report
                self._progress.notify_all()
            await self.sleep(trigger, delay)

    def _measure(self, name: str, report: EnvironmentReport, seconds: float) -> None:
        self.metrics.observe_reconcile(name, report.desired.value, seconds)
        for wait in _measured_pull_request_waits(report):
            self.metrics.observe_pull_request_wait(name, wait)
        if report.failure is not None:
            self.metrics.observe_failure(name, report.failure.reason)

    async def _reconcile(self, name: str) -> tuple[EnvironmentReport, float | None]:
        """Converge ``name`` now; its report, and how long to sleep until the next
        deadline."""
        wakes = {k: w for k, w in self.wakes[name].items() if w.planned}
        now = self.clock.now()
        requests = [w.request(k) for k, w in wakes.items()]
        labels = tuple(_label(k, w) for k, w in wakes.items())
        reasons = sorted({w.spec.reason for w in wakes.values() if w.spec.reason})
        reconciler = self.reconcilers[name]
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        progress: asyncio.Queue[Step | EnvironmentReport | None] = asyncio.Queue()
        told: dict[WakeKey, list[Step]] = {key: [] for key in wakes}
        publisher = asyncio.create_task(self._publish(name, wakes, progress, told))

        def on_progress(item: Step | EnvironmentReport) -> None:  # in the reconciler's thread
            if isinstance(item, Step):
                level = logging.WARNING if item.type == "Warning" else logging.INFO
                logger.log(level, "%s: %s: %s", name, item.reason, item.message)
            loop.call_soon_threadsafe(progress.put_nowait, item)

        def on_record(record: Record) -> None:  # in the reconciler's thread: wait until kept
            kept = asyncio.run_coroutine_threadsafe(self._keep(name, wakes, record), loop)
            kept.result()

        try:
            report = await asyncio.to_thread(
                reconciler.converge,
                requests,
                now=now,
                labels=labels,
                reason="; ".join(reasons) or None,
                record=self.records[name],
                on_step=on_progress,
                on_start=on_progress,
                on_record=on_record,
            )
        finally:
            progress.put_nowait(None)  # after the steps: the thread queued those first
            await publisher
        self.reports[name] = report
        self.records[name] = report.record
        self._measure(name, report, time.monotonic() - started)
        for (key, wake), planned in zip(wakes.items(), report.plan.wakes, strict=True):
            if self.wakes[name].get(key) is not wake:
                continue  # deleted while we worked
            await self._settle(key, wake, planned, report, told[key])
        self.metrics.observe_wakes(
            name, [w.status.get("phase", "Scheduled") for w in self.wakes[name].values()]
        )
        return report, self._delay(report, now)

    def _delay(self, report: EnvironmentReport, now: datetime) -> float | None:
        if report.failure is not None and report.failure.transient:
            return float(getattr(report.failure, "retry_after", self.retry_after))
        deadlines = [a.at for a in report.plan.actions if a.at > now]
        # a wake's phase changes at its start and stop also where nothing is to be done
        deadlines += [t for w in report.plan.wakes for t in (w.start, w.stop) if t > now]
        if report.recheck_at is not None:
            deadlines.append(report.recheck_at)
        if not deadlines:
            return None
        return max((min(deadlines) - self.clock.now()).total_seconds(), 0.0)

    async def _settle(
        self,
        key: WakeKey,
        wake: _Wake,
        planned: Any,
        report: EnvironmentReport,
        told: list[Step],
    ) -> None:
        """One wake's status after a reconcile, and what it has not been told yet."""
        status = next_status(planned, report, generation=wake.generation, previous=wake.status)
        heard = hears(status["phase"], planned, report)
        done = [s for s in report.steps if heard and heard_step(planned, report, s, wake.status)]
        untold = [
            s for s in done if not any(s is t for t in told) and not told_before(wake.status, s)
        ]
        untold += transitions(wake.status, status, done)
        status["steps"] = record_steps(wake.status.get("steps") or [], untold, now=self.clock.now())
        if _changed(wake.status, status):
            await self.sink.write_status(wake.body, status)
        wake.status = {k: v for k, v in status.items() if v is not None}
        for step in untold:
            await self.sink.emit(wake.body, step)
        if wake.finished:
            self._expire_later(key, wake.body, wake.status)

    async def _keep(self, name: str, wakes: Mapping[WakeKey, _Wake], record: Record) -> None:
        """Keep ``record`` where it survives a restart (the wakes' status) before the
        change it makes possible is pushed."""
        self.records[name] = record
        restore = record_status(record)
        kept = False
        for key, wake in wakes.items():
            if self.wakes[name].get(key) is wake and not wake.finished:
                for attempt in range(_KEEP_ATTEMPTS):  # each attempt has the sink's retries
                    try:
                        await self.sink.write_status(wake.body, {"restore": restore})
                        break
                    except errors.EnvwakeError:
                        if attempt == _KEEP_ATTEMPTS - 1:
                            raise
                wake.status["restore"] = restore
                kept = True
        if not kept and record:
            raise errors.Unexpected(f"no wake of {name} to keep what the reset must put back")

    async def _publish(
        self,
        name: str,
        wakes: Mapping[WakeKey, _Wake],
        progress: asyncio.Queue[Step | EnvironmentReport | None],
        told: dict[WakeKey, list[Step]],
    ) -> None:
        """Progress while a reconcile runs (people watch a wake for the minutes a cluster
        start or a pull request's checks take): the phase it enters (Starting, Stopping)
        once the plan is known, then each step as an event and in the status, to the wakes
        it concerns. ``told`` says which step reached which wake; the end sends the rest."""
        concerned: dict[WakeKey, Any] = {}  # the wakes it concerns: their planned wake
        started: EnvironmentReport | None = None
        while (item := await progress.get()) is not None:
            if isinstance(item, EnvironmentReport):
                started = item
                try:
                    concerned = await self._entering(name, wakes, item, told)
                except Exception:  # best effort: the reconcile's end writes the status
                    logger.exception("publishing the progress of %s failed", name)
                continue
            for key, planned in concerned.items():
                wake = wakes[key]
                if self.wakes[name].get(key) is not wake:
                    continue
                if started is not None and not heard_step(planned, started, item, wake.status):
                    continue
                if told_before(wake.status, item):
                    told[key].append(item)  # (not again at the end either)
                    continue
                try:
                    await self.sink.emit(wake.body, item)
                    steps = record_steps(
                        wake.status.get("steps") or [], [item], now=self.clock.now()
                    )
                    await self.sink.write_status(
                        wake.body, {"message": item.message, "steps": steps}
                    )
                    wake.status["steps"] = steps
                    told[key].append(item)
                except Exception:  # best effort: the reconcile's end sends what did not go out
                    logger.exception("publishing the progress of %s failed", name)

    async def _entering(
        self,
        name: str,
        wakes: Mapping[WakeKey, _Wake],
        report: EnvironmentReport,
        told: dict[WakeKey, list[Step]],
    ) -> dict[WakeKey, Any]:
        """Before anything is done: the wakes this reconcile concerns (with their planned
        wake), and the phase they enter (Starting, Stopping), said once."""
        concerned = {}
        for (key, wake), planned in zip(wakes.items(), report.plan.wakes, strict=True):
            if self.wakes[name].get(key) is not wake:
                continue
            status = next_status(planned, report, generation=wake.generation, previous=wake.status)
            if not hears(status["phase"], planned, report):
                continue
            concerned[key] = planned
            if wake.status.get("phase") in _ENTERING.get(status["phase"], ()):
                entering = [s for s in transitions(wake.status, status, []) if s.type == "Normal"]
                status["steps"] = record_steps(
                    wake.status.get("steps") or [], entering, now=self.clock.now()
                )
                for unchanged in ("restore", "finishedAt"):
                    status.pop(unchanged, None)
                await self.sink.write_status(wake.body, status)
                wake.status.update({k: v for k, v in status.items() if v is not None})
                for step in entering:
                    await self.sink.emit(wake.body, step)
                    told[key].append(step)
        return concerned


# The phases a reconcile enters before it finishes, and the phases they follow
_ENTERING: dict[str, tuple[str | None, ...]] = {
    "Starting": (None, "Scheduled"),
    "Stopping": ("Awake", "Extending"),
}


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Whether writing ``after`` changes anything (None: the key goes)."""
    return any(before.get(k) != v if v is not None else k in before for k, v in after.items())


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
