"""A month of nights in a living world, with envwake in it; invariants every virtual minute.

The world: the local stack (kmock's Kubernetes emulator, the GitHub emulator and its CI,
moto, the sandbox Flux/KEDA/kubelet) with config/dev.yaml; a Flux that polls the
repository every minute, lags for spells and fails once; a team that merges all day
(sandbox/team.py) and CI that is slow or red for a while; the Slack app following the
wakes asked for in Slack; and ``envwake run`` as its own process, killed with SIGKILL at
random moments (in the middle of its requests, and while it idles) and started again.

The wakes: nights past the normal stop, early mornings, weekends, JP holidays and the
year-end closure, overlapping and adjacent wakes, stopAt moved earlier and later,
cancelled, deleted while active, created while the operator is down, from kubectl and
from Slack, and working days where the normal schedule fails to start the databases.

Time: one virtual clock, shared with the operator's process. While anything happens
(the operator talks to GitHub or AWS, an action of the plan is due, a pull request of
envwake is open, a cluster is in transition, the operator is starting) it runs at
``--speed``; while nothing does, it moves a minute at a time. Every virtual minute the
world is sampled and checked:

- awake: inside every requested minute after the wake said it was awake (and at the
  latest ``START_BOUND`` after its start), every service ready at its replicas and every
  cluster available;
- the base branch: each ScaledObject's minReplicaCount as the plan's desired state says
  (any of the two states around an action for ``TRANSITION_BOUND`` after it, longer by
  each wave's wait while CI is slow), and NORMAL
  byte for byte as the repository had it, the team's lines apart; the team's commits stay
  in the history and their lines in the files;
- cluster-hours not above what the plan and the normal schedule keep up, plus the
  minutes of transitions in progress;
- at the end: no pull request or branch of envwake left, every pull request of the team
  as the team left it; no status step, event or Slack post repeated.

    .venv/bin/python -m benchmarks.soak [--days 30] [--kills 20] [--seed 7]

A 7-day version runs in the test suite (tests/soak/).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import logging
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import kmock

from envwake.configdir import load_config_dir
from envwake.localstack import (
    NAMESPACE,
    OPERATOR_TOKEN,
    LocalStack,
    OperatorProcess,
    StackTiming,
)
from envwake.model.loading import Environment
from envwake.planning import (
    DesiredState,
    Plan,
    Rules,
    WakeRequest,
    plan_environment,
    stop_waves,
)
from envwake.planning.calendar import BusinessCalendar
from envwake.sandbox.clock import LOOK, VirtualClock
from envwake.sandbox.flux import keda_cron_active
from envwake.sandbox.slack import SlackEmulator
from envwake.sandbox.team import Team
from envwake.wakes.api import WakeApi, connect
from envwake.wakes.request import rfc3339

REPOSITORY = Path(__file__).resolve().parent.parent
CONFIG = REPOSITORY / "config"
TOKYO = ZoneInfo("Asia/Tokyo")
MINUTE = timedelta(minutes=1)
WAKES = kmock.resource("envwake.dev", "v1alpha1", "environmentwakes")
# A wake is awake once it says so; and, however slow, this long after its start at the
# latest (time runs at 100x while it works: a second it computes is 100 virtual seconds)
START_BOUND = timedelta(minutes=120)
TRANSITION_BOUND = timedelta(minutes=60)  # the base branch follows an action within this
CI_SECONDS, SLOW_CI_SECONDS = 90.0, 1200.0  # a check's time, and while CI is slow
RESET_BOUND = timedelta(minutes=60)  # back to normal this long after a reset (or Flux's recovery)
QUIET = 0.6  # real seconds without a request of the operator: it is idle
WORKING_QUIET = 4.0  # the same, while a wake's status says an action is under way
WAITING_FACTOR = 6.0  # how much faster time runs while the operator only waits
DEADLINE_GRACE = 2.0  # real seconds the operator has to start acting on a deadline
OPS, ALICE = "C0DEVOPS01", "U0ALICE"  # a channel and a developer the dev config opens to Slack

logger = logging.getLogger("soak")


# -- what is asked ---------------------------------------------------------------------------


@dataclass
class Asked:
    """One wake of the soak: when it is created, what it asks, what happens to it."""

    name: str
    kind: str
    create_at: datetime
    start: datetime
    stop: datetime | None = None
    via: str = "kubectl"  # or slack
    move_at: datetime | None = None  # stopAt moved then...
    move_to: datetime | None = None  # ...to this
    cancel_at: datetime | None = None
    delete_at: datetime | None = None
    created: bool = False
    ended_at: datetime | None = None  # deleted or cancelled
    announced_at: datetime | None = None  # the first minute its status said Awake
    effective_stop: datetime | None = None  # as its status says
    finished: bool = False
    phase: str = ""  # as its status says
    last_step: str = ""

    def request(self) -> WakeRequest | None:
        """What the plan is asked for this wake now (None: nothing)."""
        if not self.created:
            return None
        stop = self.stop
        if self.ended_at is not None:
            if self.ended_at <= self.start:
                return None
            stop = min(stop, self.ended_at) if stop else self.ended_at
        return WakeRequest(self.start, stop, self.name)


@dataclass
class Spell:
    """Something the world does for a while: Flux lags or fails, CI is slow or red, the
    normal schedule cannot start the databases."""

    kind: str
    begin: datetime
    end: datetime
    started: bool = False
    ended: bool = False


def at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


def scenario(
    first_day: datetime, days: int, calendar: BusinessCalendar, *, every: int = 1
) -> tuple[list[Asked], list[Spell], list[tuple[datetime, datetime]]]:
    """The wakes, the spells and the operator's planned downtimes of ``days`` from
    ``first_day`` (midnight in Tokyo): one or two wakes every ``every`` days, the kinds
    in turn."""
    wakes: list[Asked] = []
    spells: list[Spell] = []
    downtimes: list[tuple[datetime, datetime]] = []
    counts = Counter[bool]()
    for index in range(days):
        day = first_day + timedelta(days=index)
        business = calendar.is_business_day(day.date())
        kinds = BUSINESS_DAYS if business else OTHER_DAYS
        if index % every:
            kinds = []  # a quiet day: the team works, the schedules fire, nobody asks
        kind = kinds[counts[business] % len(kinds)] if kinds else ""
        counts[business] += 1 if kinds else 0
        if kind:
            wakes += WAKES_OF[kind](day, f"{day:%m%d}")
        if kind == "late-normal":  # the 06:30 starts fail; the wake is in working hours
            spells.append(Spell("normal-fails", at(day, 6), at(day, 12)))
        if kind == "while-down":
            downtimes.append((at(day, 7, 40), at(day, 8, 10)))
        if index == 2:
            spells.append(Spell("flux-lag", at(day, 0), at(day, 23, 59)))  # a slow source
        if index == 3:  # CI takes 20 minutes a check through the night's actions
            spells.append(Spell("ci-slow", at(day, 22), day_after(day, 3)))
        if index == 4:  # CI is red for an hour in the afternoon (only the team acts then)
            spells.append(Spell("ci-red", at(day, 14), at(day, 15)))
    return wakes, spells, downtimes


WAKES_OF: dict[str, Callable[[datetime, str], list[Asked]]] = {
    "night": lambda d, n: [
        Asked(f"night-{n}", "night", at(d, 19), at(d, 21), day_after(d, 1, 30)),
    ],
    "late-normal": lambda d, n: [
        Asked(f"working-{n}", "late-normal", at(d, 6), at(d, 7), at(d, 11), via="slack"),
        Asked(f"evening-{n}", "night", at(d, 18), at(d, 22), day_after(d, 1)),
    ],
    "early": lambda d, n: [
        Asked(f"early-{n}", "early", at(d, 4), at(d, 5)),
        Asked(f"late-{n}", "night", at(d, 20), at(d, 23), day_after(d, 2)),
    ],
    "moved-later": lambda d, n: [
        Asked(
            f"later-{n}",
            "moved-later",
            at(d, 20),
            at(d, 22),
            at(d, 23, 50),
            move_at=at(d, 22, 40),
            move_to=day_after(d, 2),
        ),
    ],
    "adjacent": lambda d, n: [
        Asked(f"first-{n}", "adjacent", at(d, 20), at(d, 23), day_after(d, 0, 45)),
        Asked(f"second-{n}", "adjacent", at(d, 21), day_after(d, 0, 45), day_after(d, 2)),
    ],
    "moved-earlier": lambda d, n: [
        Asked(
            f"earlier-{n}",
            "moved-earlier",
            at(d, 19),
            at(d, 20),
            day_after(d, 3),
            move_at=at(d, 23, 55),
            move_to=day_after(d, 1),
        ),
    ],
    "weekend": lambda d, n: [Asked(f"weekend-{n}", "weekend", at(d, 8), at(d, 10))],
    "while-down": lambda d, n: [
        Asked(f"down-{n}", "while-down", at(d, 7, 50), at(d, 8), at(d, 12)),
    ],
    "overlap": lambda d, n: [
        Asked(f"morning-{n}", "overlap", at(d, 8), at(d, 9), at(d, 15)),
        Asked(f"afternoon-{n}", "overlap", at(d, 9), at(d, 13), at(d, 19)),
    ],
    "cancelled": lambda d, n: [
        Asked(f"cancelled-{n}", "cancelled", at(d, 8), at(d, 14), at(d, 18), cancel_at=at(d, 11)),
        Asked(f"kept-{n}", "weekend", at(d, 9), at(d, 10), at(d, 12)),
    ],
    "deleted": lambda d, n: [
        Asked(f"deleted-{n}", "deleted", at(d, 9), at(d, 10), at(d, 18), delete_at=at(d, 13)),
    ],
    "slack-holiday": lambda d, n: [
        Asked(f"slack-{n}", "slack", at(d, 9), at(d, 11), at(d, 16), via="slack"),
    ],
}
BUSINESS_DAYS = ["night", "late-normal", "early", "moved-later", "adjacent", "moved-earlier"]
OTHER_DAYS = ["weekend", "while-down", "overlap", "cancelled", "deleted", "slack-holiday"]


def day_after(day: datetime, hour: int, minute: int = 0) -> datetime:
    return at(day + timedelta(days=1), hour, minute)


# -- the report -------------------------------------------------------------------------------


@dataclass
class Tally:
    minutes: int = 0
    minutes_asked: int = 0
    minutes_awake: int = 0
    misses: list[str] = field(default_factory=list)
    branch_mismatches: list[str] = field(default_factory=list)
    team_lost: list[str] = field(default_factory=list)
    late_resets: list[str] = field(default_factory=list)
    cluster_minutes: int = 0
    planned_cluster_minutes: int = 0
    transition_cluster_minutes: int = 0
    excess_cluster_minutes: int = 0
    unsampled_minutes: int = 0
    kills: int = 0
    restarts: int = 0
    kill_moments: list[str] = field(default_factory=list)


# -- the soak ---------------------------------------------------------------------------------


@dataclass
class Options:
    days: int = 30
    kills: int = 20
    seed: int = 7
    speed: float = 100.0  # virtual seconds per real second while the operator works
    first_day: datetime = datetime(2026, 12, 14, tzinfo=TOKYO)  # a Monday
    every: int = 1  # wakes every this many days (the others are quiet)
    workdir: Path | None = None
    quiet: bool = False


class Soak:
    def __init__(self, options: Options, workdir: Path) -> None:
        self.options = options
        self.workdir = workdir
        self.rng = random.Random(options.seed)
        environments, _ = load_config_dir(CONFIG)
        self.environment: Environment = environments["dev"]
        self.rules = Rules.from_config(self.environment.config)
        self.waves = len(stop_waves(self.environment))
        self.start = options.first_day.astimezone(UTC)
        self.end = self.start + timedelta(days=options.days)
        self.wakes, self.spells, self.downtimes = scenario(
            options.first_day, options.days, self.rules.calendar, every=options.every
        )
        # Flux cannot apply for 50 minutes across a reset: the first one after a night
        everything = [WakeRequest(w.start, w.stop, w.name) for w in self.wakes]
        first_night = next((w for w in self.wakes if w.kind == "night"), None)
        resets = [
            a.at for a in plan_environment(self.rules, everything, now=self.start).actions
            if a.kind.value == "reset" and first_night and a.at > first_night.start
        ]  # fmt: skip
        if resets:
            self.spells.append(
                Spell("flux-fails", resets[0] - 10 * MINUTE, resets[0] + 40 * MINUTE)
            )
        self.tally = Tally()
        self.plan: Plan = plan_environment(self.rules, [], now=self.start)
        self.last_request = 0.0  # real time of the operator's last GitHub or AWS request
        self.started_real = 0.0
        self.down_until: datetime | None = None
        self.kill_budget = options.kills
        self.last_kill: datetime | None = None
        self.next_idle_kill = self.start + self._idle_kill_gap()
        self._branch_head: str | None = None
        self._branch_values: dict[str, tuple[int | None, str]] = {}
        self.original: dict[str, str] = {}
        self.clusters_settled_for: set[datetime] = set()
        self.reset_checks: dict[datetime, datetime] = {}  # reset instant -> deadline
        self.resets_checked: set[datetime] = set()
        self.wall_started = time.monotonic()
        self._printed: datetime | None = None
        self.aws_actions: list[tuple[datetime, str]] = []
        self._reached: dict[datetime, float] = {}  # a deadline: when the clock passed it
        self._kubernetes_seen = 0
        self._busy_since: dict[str, datetime] = {}
        self._told_busy: set[str] = set()
        # real seconds of the loop by why the clock ran (or "" while it leapt), and parts
        self.wall_by_reason: Counter[str] = Counter()
        self._reason = ""

    # -- set-up ------------------------------------------------------------------------

    async def run(self) -> Tally:
        clock = VirtualClock(self.start - timedelta(hours=2), speed=self.options.speed)
        self.clock = clock
        clock_file = self.workdir / "clock.json"
        clock.share(clock_file)
        timing = StackTiming(
            ci_seconds=CI_SECONDS,
            cluster_seconds=300.0,
            pods_ready_seconds=45.0,
            flux_poll_seconds=60.0,
            sync_timeout=3 * 3600.0,
        )
        stack = LocalStack(
            self.environment, workdir=self.workdir / "stack", clock=clock, timing=timing,
            drive_world=True,
        )  # fmt: skip
        self.stack = stack
        from tests.slack.conftest import RunningApp, workspace

        with SlackEmulator() as slack:
            workspace(slack)
            self.slack = slack
            async with stack:
                repo = stack.github.state.repositories[self.environment.config.git.repository]
                self.repo = repo
                for service in self.environment.services:
                    path = service.manifest.scaled_object.path
                    self.original[path] = repo.store.read_file(repo.default_branch, path)
                self.team = Team(stack.github.service, repo.full_name, self.environment, self.rng)
                self.api: WakeApi = connect(str(stack.kubeconfig), None, NAMESPACE)
                app = RunningApp(slack, stack.kubeconfig, NAMESPACE, clock.now)
                await asyncio.to_thread(app.start)
                operator = self.operator = OperatorProcess(stack, CONFIG, clock_file)
                stack.github.after_request = lambda method, path, status: self._request()
                stack.aws.after_action(lambda action: self._request(action))
                await operator.start()
                self.started_real = time.monotonic()
                try:
                    await self._live()
                    await self._finish()
                finally:
                    stack.github.after_request = None
                    stack.aws.after_action(None)
                    await operator.stop()
                    await asyncio.to_thread(app.stop)
        return self.tally

    def _request(self, action: str = "") -> None:
        """An operator's request reached GitHub or AWS: now and then it dies right there."""
        self.last_request = time.monotonic()
        now = self.clock.now()
        if action:
            self.aws_actions.append((now, action))
        if (
            self.kill_budget > 1  # (one kept for an idle moment)
            and self.operator.pid
            and (self.last_kill is None or now - self.last_kill > timedelta(hours=8))
            and self.rng.random() < 0.02
        ):
            self._kill(now, "in a request")

    def _idle_kill_gap(self) -> timedelta:
        """Until the next kill while idle: the budget spread over the days, at random."""
        mean = timedelta(days=self.options.days) / max(self.options.kills, 1)
        return mean * self.rng.uniform(0.5, 1.5)

    def _kill(self, now: datetime, where: str) -> None:
        self.operator.kill()
        self.kill_budget -= 1
        self.last_kill = now
        self.tally.kills += 1
        self.tally.kill_moments.append(f"{now.astimezone(TOKYO):%a %m-%d %H:%M} {where}")

    # -- the loop ----------------------------------------------------------------------

    async def _live(self) -> None:
        clock = self.clock
        sampled = clock.now().replace(second=0, microsecond=0)
        skipped = 0
        looked = time.monotonic()
        while True:
            real = time.monotonic()
            self.wall_by_reason[self._reason] += real - looked
            looked = real
            now = clock.now()
            if now >= self.end:
                break
            await self._scenario(now)
            if not self.operator.running and (self.down_until is None or now >= self.down_until):
                self.down_until = None
                if await self.operator.restart_when_killed():
                    self.tally.restarts += 1
                    self.started_real = time.monotonic()
            await asyncio.to_thread(self._world, now)
            self._observe(now)
            minute = now.replace(second=0, microsecond=0)
            if minute > sampled:
                skipped = int((minute - sampled) / MINUTE) - 1
                self.tally.unsampled_minutes += skipped
                await asyncio.to_thread(self._sample, minute)
                sampled = minute
            if self._busy(now):
                # while only the world's timers run (a cluster starting or stopping, CI on
                # envwake's pull request), time runs faster: the operator only polls then
                speed = self.options.speed * (WAITING_FACTOR if self._waiting() else 1)
                if speed != clock.speed:
                    clock.reset(clock.now(), speed=speed)
                await asyncio.sleep(0.02)
            else:
                # Nothing happens until the next event: the world stands still (it changes
                # only at its ticks), so each minute up to it is sampled as it is now.
                until = self._quiet_until(now, minute)
                for quiet in range(1, int((until - minute) / MINUTE)):
                    self._sample(minute + quiet * MINUTE)
                sampled = until - MINUTE
                clock.reset(max(until, clock.now()), speed=self.options.speed)  # never back
                # while a wake is under way, a leap of a quarter hour at most every LOOK
                # seconds: the operator's timer looks that often, so it acts at most a
                # quarter late on a deadline the soak does not know of (a retry, the
                # normal schedule's grace)
                if self._under_way(now):
                    await asyncio.sleep(LOOK * (until - minute) / (15 * MINUTE))
            block = minute.replace(hour=minute.hour - minute.hour % 6, minute=0)
            if not self.options.quiet and block != self._printed:
                self._printed = block
                self._progress(minute)

    def _quiet_until(self, now: datetime, minute: datetime) -> datetime:
        """The next minute anything can happen at: a quarter hour (the schedules fire on
        them) at the latest, the next minute at the earliest."""
        quarter = minute.replace(minute=minute.minute - minute.minute % 15) + 15 * MINUTE
        events = [quarter, self.end]
        for wake in self.wakes:
            events += [t for t in (wake.create_at, wake.move_at, wake.cancel_at, wake.delete_at)
                       if t is not None]  # fmt: skip
            events += [t for t in (wake.start, wake.stop, wake.effective_stop) if t is not None]
        events += [t for spell in self.spells for t in (spell.begin, spell.end)]
        events += [t for down in self.downtimes for t in down]
        events += [self.next_idle_kill] + [a.at for a in self.plan.actions]
        events += [t for t in (self.team.next_at, *self.team.ci_due()) if t is not None]
        flux = self.stack.flux
        assert flux is not None
        if flux.pending():
            events.append(now)
        future = [t for t in events if t > now]
        soonest = min(future) if future else quarter
        return max(soonest.replace(second=0, microsecond=0) + MINUTE, minute + MINUTE)

    def _progress(self, minute: datetime) -> None:
        elapsed = time.monotonic() - self.wall_started
        print(
            f"  {minute.astimezone(TOKYO):%a %m-%d %H:%M}  wall {elapsed:6.0f}s  "
            f"misses {len(self.tally.misses)}  kills {self.tally.kills}  "
            f"PRs {self._envwake_pulls()}  wall by why the clock ran: {self._wall_by_reason(4)}",
            file=sys.stderr,
            flush=True,
        )

    def _wall_by_reason(self, count: int) -> str:
        top = self.wall_by_reason.most_common(count)
        return ", ".join(f"{reason or 'leaping'} {seconds:.0f}s" for reason, seconds in top)

    def _world(self, now: datetime) -> None:
        self.stack.tick_world()
        self.team.tick(now)

    def _busy(self, now: datetime) -> bool:
        """Whether the clock must run (not leap): the operator is working, or is due to."""
        reason = self._busy_because(now)
        self._reason = reason.split(" (")[0]
        if reason and not self.options.quiet:
            since = self._busy_since.setdefault(reason, now)
            if now - since > timedelta(hours=2) and reason not in self._told_busy:
                self._told_busy.add(reason)
                print(f"    busy for 2 hours: {reason}", file=sys.stderr, flush=True)
        else:
            self._busy_since.clear()
        return bool(reason)

    def _busy_because(self, now: datetime) -> str:
        real = time.monotonic()
        self._operator_requests_to_kubernetes(real)
        if real - self.last_request < QUIET:
            return "requests"
        if real - self.started_real < 4.0:
            return "starting"  # the operator lists, then acts on what it missed
        # At each of its deadlines the operator must get the time to notice (its timer
        # looks every LOOK seconds) and act: the clock runs until it does.
        for deadline in self._deadlines():
            if deadline <= now:
                reached = self._reached.setdefault(deadline, real)
                if self.last_request < reached and real - reached < DEADLINE_GRACE:
                    return "deadline"
        if any(now - MINUTE <= w.create_at <= now + MINUTE for w in self.wakes):
            return "created"
        # in the middle of an action, the operator also computes, clones and waits
        # between its requests: a longer silence is needed to call it idle
        if real - self.last_request < WORKING_QUIET:
            for wake in self.wakes:
                if wake.created and not wake.finished and self._working_on(wake):
                    return f"working on {wake.name} ({wake.phase}, {wake.last_step})"
        states = self.stack.cluster_states().values()
        if any(s in ("starting", "stopping") for s in states):
            return "clusters"
        if any(
            p.state == "open" and p.head.startswith("envwake/") for p in self.repo.pulls.values()
        ):
            return "pull request"
        return ""

    @staticmethod
    def _working_on(wake: Asked) -> bool:
        """Whether the operator is in the middle of an action for the wake, as its status
        says: waking it, or stopping it and not asleep yet."""
        if wake.phase == "Starting":
            return True
        return wake.phase == "Stopping" and wake.last_step not in ("Asleep", "Stopping", "")

    def _under_way(self, now: datetime) -> bool:
        """Whether a wake has begun and is not finished (its retries and rechecks are
        deadlines the soak does not know)."""
        return any(w.created and not w.finished and w.start <= now for w in self.wakes)

    def _waiting(self) -> bool:
        """Whether the operator waits on a timer of the world: a cluster in transition,
        checks running on its pull request, Flux applying. (Pods getting ready are not
        looked at: they take the operator seconds, at the clock's normal speed.)"""
        if any(s in ("starting", "stopping") for s in self.stack.cluster_states().values()):
            return True
        assert self.stack.flux is not None
        if self.stack.flux.pending():
            return True
        heads = {
            p.head_sha
            for p in self.repo.pulls.values()
            if p.state == "open" and p.head.startswith("envwake/")
        }
        return any(r.head_sha in heads for r in self.repo.running())

    def _deadlines(self) -> list[datetime]:
        """What the operator wakes up for: the plan's actions, and each wake's start, stop
        and changes (within the last hour: older ones were acted on)."""
        now = self.clock.now()
        times = [a.at for a in self.plan.actions]
        for wake in self.wakes:
            if wake.created:
                times += [t for t in (wake.start, wake.effective_stop, wake.move_at,
                                      wake.cancel_at, wake.delete_at) if t is not None]  # fmt: skip
        return [t for t in times if now - timedelta(hours=1) <= t <= now]

    def _operator_requests_to_kubernetes(self, real: float) -> None:
        """The operator's own reads and writes of the Kubernetes API count as its work too
        (it polls Flux and the pods there while it waits)."""
        asked = self.stack.kubernetes.envwake_requests
        if len(asked) > self._kubernetes_seen:
            fresh = asked[self._kubernetes_seen :]
            self._kubernetes_seen = len(asked)
            if any(r.token == OPERATOR_TOKEN for r in fresh):
                self.last_request = real

    # -- what happens when -------------------------------------------------------------

    async def _scenario(self, now: datetime) -> None:
        for begin, end in self.downtimes:
            if begin <= now < end and self.down_until is None and self.operator.pid:
                self._kill(now, "to create a wake while it is down")
                self.down_until = end
        if (
            self.kill_budget > 0
            and now >= self.next_idle_kill
            and self.operator.pid
            and not self._busy(now)
        ):
            self._kill(now, "while idle")
            self.next_idle_kill = now + self._idle_kill_gap()
        changed = False
        for wake in self.wakes:
            if not wake.created and now >= wake.create_at:
                await self._create(wake, now)
                changed = True
            if wake.move_at and wake.move_to and now >= wake.move_at and wake.stop != wake.move_to:
                wake.stop = wake.move_to
                await asyncio.to_thread(
                    self.api.patch_spec, wake.name, {"stopAt": rfc3339(wake.move_to, UTC)}
                )
                changed = True
            if wake.cancel_at and now >= wake.cancel_at and wake.ended_at is None:
                wake.ended_at = now
                await asyncio.to_thread(self.api.patch_spec, wake.name, {"cancelled": True})
                changed = True
            if wake.delete_at and now >= wake.delete_at and wake.ended_at is None:
                wake.ended_at = now
                await asyncio.to_thread(self.api.delete, wake.name)
                changed = True
        for spell in self.spells:
            if not spell.started and now >= spell.begin:
                spell.started = True
                self._spell(spell, on=True)
            if spell.started and not spell.ended and now >= spell.end:
                spell.ended = True
                self._spell(spell, on=False)
        if changed:
            self._replan(now)

    async def _create(self, wake: Asked, now: datetime) -> None:
        wake.created = True
        if wake.via == "slack":
            stop = f" until {wake.stop.isoformat()}" if wake.stop else ""
            text = f"start dev at {wake.start.isoformat()}{stop} because soak {wake.name}"
            answer = await asyncio.to_thread(
                self.slack.deliver, self.slack.slash_command(text, user=ALICE, channel=OPS)
            )
            found = re.search(r"\(wake `[^/`]+/([a-z0-9.-]+)`\)", answer.json().get("text", ""))
            if found:
                wake.name = found.group(1)
            else:
                raise AssertionError(f"Slack did not create {wake.name}: {answer.json()}")
            return
        spec: dict[str, Any] = {
            "startAt": rfc3339(wake.start, UTC),
            "reason": f"soak: {wake.kind}",
            "requestedBy": "soak",
        }
        if wake.stop:
            spec["stopAt"] = rfc3339(wake.stop, UTC)
        await asyncio.to_thread(self.api.create, self.stack.wake_manifest(wake.name, spec))

    def _spell(self, spell: Spell, *, on: bool) -> None:
        flux = self.stack.flux
        assert flux is not None
        logger.info("spell %s %s", spell.kind, "begins" if on else "ends")
        if spell.kind == "flux-lag":
            flux.lag = 240.0 if on else 0.0
        elif spell.kind == "flux-fails":
            if on:
                flux.fail(
                    "kustomize build failed: accumulating resources from 'apps': "
                    "open /tmp/kustomization-1/apps/kustomization.yaml: no such file or directory"
                )
            else:
                flux.recover()
        elif spell.kind in ("ci-slow", "ci-red"):
            from dataclasses import replace

            service = self.stack.github.service
            with service.state.lock:
                self.repo.ci = [
                    replace(
                        job,
                        seconds=(SLOW_CI_SECONDS if on and spell.kind == "ci-slow" else CI_SECONDS),
                        outcome=("failure" if on and spell.kind == "ci-red" else "success"),
                    )
                    for job in self.repo.ci
                ]
        elif spell.kind == "normal-fails":
            self._break_start_schedules(broken=on)

    def _break_start_schedules(self, *, broken: bool) -> None:
        for cluster in self.environment.clusters:
            scheduler = self.stack.aws.session(cluster.aws_account_id).client(
                "scheduler", endpoint_url=self.stack.aws.url
            )
            current = scheduler.get_schedule(Name=cluster.start_schedule_name)
            target = dict(
                current["Target"],
                Input=json.dumps({"DbClusterIdentifier": "gone" if broken else cluster.cluster_id}),
            )
            scheduler.update_schedule(
                **{k: current[k] for k in ("Name", "ScheduleExpression", "State")},
                Target=target,
                FlexibleTimeWindow=current["FlexibleTimeWindow"],
                ScheduleExpressionTimezone=current["ScheduleExpressionTimezone"],
            )

    def _replan(self, now: datetime) -> None:
        requests = [r for w in self.wakes if (r := w.request()) is not None]
        self.plan = plan_environment(self.rules, requests, now=now)
        for action in self.plan.actions:
            if action.kind.value == "reset" and action.at not in self.resets_checked:
                self.reset_checks.setdefault(action.at, action.at + RESET_BOUND)

    # -- watching ----------------------------------------------------------------------

    def _observe(self, now: datetime) -> None:
        """What the wakes' statuses say (they only pace the soak and give the times envwake
        announced; the checks read the world)."""
        objects = self.stack.kubernetes.objects
        for wake in self.wakes:
            if not wake.created or wake.finished:
                continue
            key = (WAKES, NAMESPACE, wake.name)
            found = objects[key] if key in objects else None  # noqa: SIM401 (no .get)
            if found is None or found.deleted:
                wake.finished = wake.ended_at is not None  # deleted: its finalizer went
                continue
            body = found.raw
            status = body.get("status") or {}
            if status.get("effectiveStopAt"):
                wake.effective_stop = datetime.fromisoformat(status["effectiveStopAt"])
            if wake.announced_at is None and status.get("phase") in ("Awake", "Extending"):
                wake.announced_at = now
            steps = status.get("steps") or []
            wake.phase = str(status.get("phase") or "")
            wake.last_step = str(steps[-1].get("reason")) if steps else ""
            wake.finished = status.get("phase") in ("Completed", "Failed")

    def _sample(self, minute: datetime) -> None:
        tally = self.tally
        tally.minutes += 1
        stack, flux = self.stack, self.stack.flux
        assert flux is not None
        clusters = stack.cluster_states()
        down_services = [
            s.key for s in self.environment.services
            if flux.deployment_ready(s.namespace, s.service_name)[0] < self._target(s)
        ]  # fmt: skip
        services_ready = not down_services
        awake = services_ready and all(state == "available" for state in clusters.values())
        asking = [w for w in self.wakes if self._asks(w, minute)]
        if asking:
            tally.minutes_asked += 1
            tally.minutes_awake += awake
            due = any(
                (w.announced_at is not None and minute >= w.announced_at)
                or minute >= w.start + START_BOUND
                for w in asking
            )
            if not awake and due:
                down = [k for k, v in clusters.items() if v != "available"] + down_services
                tally.misses.append(
                    f"{minute.astimezone(TOKYO):%a %m-%d %H:%M} "
                    f"({', '.join(w.name for w in asking)}): down {', '.join(down)}"
                )
                if not self.options.quiet and len(tally.misses) <= 5:
                    print(f"  MISS {tally.misses[-1]}", file=sys.stderr, flush=True)
                    if len(tally.misses) == 1:
                        fired = [(w.astimezone(TOKYO).strftime("%a %H:%M"), n, o)
                                 for w, n, o in self.stack.aws.fired[-6:]]  # fmt: skip
                        print(f"    fired: {fired}", file=sys.stderr, flush=True)
                        print(f"    clock: {self.clock.now().astimezone(TOKYO)}", file=sys.stderr)
                        acted = [(t.astimezone(TOKYO).strftime("%a %H:%M:%S"), a)
                                 for t, a in self.aws_actions[-12:]]  # fmt: skip
                        print(f"    AWS: {acted}", file=sys.stderr, flush=True)
        # cluster-hours
        up = sum(1 for state in clusters.values() if state != "stopped")
        tally.cluster_minutes += up
        planned = self._planned_up(minute)
        tally.planned_cluster_minutes += len(clusters) if planned else 0
        if not planned and up:
            if self._in_transition(minute):
                tally.transition_cluster_minutes += up
            else:
                tally.excess_cluster_minutes += up
        self._check_branch(minute)
        self._check_resets(minute)

    @staticmethod
    def _target(service: Any) -> int:
        """The replicas a wake holds a service at (its configured ``replicas``, else the
        cron trigger's desiredReplicas, 2 in the generated repository)."""
        return max(service.replicas if service.replicas is not None else 2, 1)

    def _asks(self, wake: Asked, minute: datetime) -> bool:
        request = wake.request()
        if request is None or request.start is None or minute < request.start:
            return False
        stop = request.stop or wake.effective_stop
        return stop is not None and minute < stop

    def _planned_up(self, minute: datetime) -> bool:
        """Up by the normal schedule (the EventBridge starts/stops: weekdays, holidays
        too), or held by the plan."""
        normal = keda_cron_active(
            self.environment.config.schedule.start,
            self.environment.config.schedule.end,
            self.environment.config.timezone,
            minute,
        )
        return normal or self.plan.state_at(minute) is DesiredState.HOLD

    def _in_transition(self, minute: datetime) -> bool:
        """Within its bound after an action of the plan, or the normal stop."""
        recent = [a.at for a in self.plan.actions if a.at <= minute < a.at + self._bound(a.at)]
        local = minute.astimezone(TOKYO)
        after_normal_stop = local.hour == 0 and local.minute < 60 and local.weekday() in range(1, 6)
        return bool(recent) or after_normal_stop

    def _bound(self, action_at: datetime) -> timedelta:
        """How long the base branch may take to follow an action: TRANSITION_BOUND, and
        while CI is slow, each dependency wave's longer wait for its checks (a stop is a
        pull request per wave, one after the other)."""
        slow = any(s.kind == "ci-slow" and s.begin <= action_at < s.end for s in self.spells)
        if not slow:
            return TRANSITION_BOUND
        return TRANSITION_BOUND + self.waves * timedelta(seconds=SLOW_CI_SECONDS - CI_SECONDS)

    def _check_branch(self, minute: datetime) -> None:
        repo = self.repo
        head = repo.store.ref(repo.default_branch)
        if head != self._branch_head:
            self._branch_head = head
            self._branch_values = {}
            for path in self.original:
                text = repo.store.read_file(head or "", path)
                stripped = strip_team_line(text)
                self._branch_values[path] = (min_replicas(stripped), stripped)
            for path, line in self.team.lines.items():
                text = repo.store.read_file(head or "", path)
                if text.splitlines()[0] != line:
                    self.tally.team_lost.append(f"{minute:%m-%d %H:%M} {path}: {line!r} gone")
            # the team's own files, by blob id: one listing, not a read of each (hundreds)
            tree = {}
            for line in repo.store.git("ls-tree", "-r", head or "", "docs").splitlines():
                meta, path = line.split("\t", 1)
                tree[path] = meta.split()[2]
            for path, text in self.team.own_files.items():
                if tree.get(path) != blob_id(text):
                    self.tally.team_lost.append(f"{minute:%m-%d %H:%M} {path} changed")
        state = self.plan.state_at(minute)
        recent = [a for a in self.plan.actions if a.at <= minute < a.at + self._bound(a.at)]
        allowed_states = {state}
        if recent:
            allowed_states |= {self.plan.state_at(a.at - timedelta(seconds=1)) for a in recent}
        if self._held_in_window(minute):
            allowed_states.add(DesiredState.HOLD)  # the normal schedule failed: envwake holds
        for service in self.environment.services:
            path = service.manifest.scaled_object.path
            value, stripped = self._branch_values[path]
            ok = any(self._as_planned(s, service, value, stripped, path) for s in allowed_states)
            if not ok:
                self.tally.branch_mismatches.append(
                    f"{minute.astimezone(TOKYO):%a %m-%d %H:%M} {path}: minReplicaCount {value} "
                    f"in {state.value}"
                )

    def _as_planned(
        self, state: DesiredState, service: Any, value: int | None, text: str, path: str
    ) -> bool:
        if state is DesiredState.NORMAL:
            return text == self.original[path]
        if state is DesiredState.ASLEEP:
            return value in (0, None)
        return value == self._target(service)

    def _held_in_window(self, minute: datetime) -> bool:
        """Inside a normal window a wake asks for, envwake may hold the environment itself
        (when the normal schedule failed to wake it) until that wake, and a short while
        after it, is over."""
        if not self.plan.in_normal_window(minute):
            return False
        return any(
            self._asks(w, m) for w in self.wakes for m in (minute, minute - TRANSITION_BOUND)
        )

    def _check_resets(self, minute: datetime) -> None:
        for reset, deadline in list(self.reset_checks.items()):
            if self._held_in_window(minute):
                self.reset_checks[reset] = minute + RESET_BOUND  # the hold ends first
                continue
            if any(s.kind == "flux-fails" and s.begin <= minute < s.end for s in self.spells):
                self.reset_checks[reset] = minute + RESET_BOUND  # Flux cannot apply it yet
                continue
            if minute < deadline:
                continue
            del self.reset_checks[reset]
            self.resets_checked.add(reset)
            if self.plan.state_at(minute) is not DesiredState.NORMAL:
                continue  # another wake took over
            lagging = [
                path for path in self.original
                if self._branch_values.get(path, (None, ""))[1] != self.original[path]
            ]  # fmt: skip
            if not self.stack.schedules_as_configured():
                lagging.append("the EventBridge schedules")
            if lagging:
                self.tally.late_resets.append(
                    f"reset {reset.astimezone(TOKYO):%a %m-%d %H:%M}: not back by "
                    f"{deadline.astimezone(TOKYO):%H:%M}: {', '.join(lagging)}"
                )

    def _envwake_pulls(self) -> int:
        return sum(1 for p in self.repo.pulls.values() if p.head.startswith("envwake/"))

    # -- the end -----------------------------------------------------------------------

    async def _finish(self) -> None:
        """Let the last reset happen, then read what is left."""
        clock = self.clock
        last = max((a.at for a in self.plan.actions), default=clock.now())
        while clock.now() < last + RESET_BOUND or any(
            not w.finished for w in self.wakes if w.created and w.ended_at is None
        ):
            if clock.now() > last + timedelta(hours=12):
                break
            now = clock.now()
            if not self.operator.running:
                await self.operator.restart_when_killed()
            await asyncio.to_thread(self._world, now)
            self._observe(now)
            if not self._busy(now):
                clock.reset(now + MINUTE, speed=self.options.speed)
            await asyncio.sleep(0.02)
        self.team.close_abandoned()
        self.report = self._final_checks()

    def _final_checks(self) -> dict[str, Any]:
        repo = self.repo
        from tests.slack.conftest import wakes_in

        envwake_pulls = [p for p in repo.pulls.values() if p.head.startswith("envwake/")]
        open_pulls = [p.number for p in envwake_pulls if p.state == "open"]
        branches = [b for b in repo.store.refs() if b.startswith("envwake/")]
        changed_team = []
        for pull in self.team.pulls.values():
            pr = repo.pulls[pull.number]
            left = "merged" if pr.merged else pr.state
            if left != pull.left or (pull.left == "open" and pr.head_sha != pull.head_sha):
                changed_team.append(pull.number)
        head = repo.store.ref(repo.default_branch) or ""
        for sha in self.team.merged:
            try:
                repo.store.git("merge-base", "--is-ancestor", sha, head)
            except Exception:
                self.tally.team_lost.append(f"team commit {sha[:10]} not in the base branch")
        repeated_steps = []
        found = wakes_in(self.stack.kubernetes)
        (self.workdir / "wakes.json").write_text(json.dumps(found, indent=1, default=str))
        for name, body in found.items():
            steps = [
                (s.get("reason"), s.get("message"))
                for s in (body.get("status") or {}).get("steps", [])
            ]
            repeated_steps += [f"{name}: {s}" for s, n in Counter(steps).items() if n > 1]
        events = [
            obj.raw for (resource, _, _), obj in self.stack.kubernetes.objects.items()
            if getattr(resource, "plural", None) == "events" and not obj.deleted
        ]  # fmt: skip
        keys = Counter(
            (e.get("involvedObject", {}).get("uid"), e.get("reason"), e.get("message"))
            for e in events
        )
        repeated_events = [f"{k[1]}: {k[2]}" for k, n in keys.items() if n > 1]
        posts = Counter(
            (m.channel, m.thread_ts, m.text) for m in self.slack.messages if m.thread_ts
        )
        repeated_posts = [f"{k[2][:80]}" for k, n in posts.items() if n > 1]
        return {
            "envwake_pulls": len(envwake_pulls),
            "open_pulls": open_pulls,
            "branches": branches,
            "team_pulls": len(self.team.pulls),
            "team_merged": len(self.team.merged),
            "changed_team": changed_team,
            "repeated_steps": repeated_steps,
            "repeated_events": repeated_events,
            "events": len(events),
            "posts": sum(posts.values()),
            "repeated_posts": repeated_posts,
            "github_calls": len(self.stack.github.requests),
            "clusters": self.stack.cluster_states(),
        }


TEAM_LINE = re.compile(r"^# last touched by the team: change \d+(\r\n|\n)")
MIN_REPLICAS = re.compile(r"^\s*minReplicaCount:\s*['\"]?(\d+)['\"]?\s*(#.*)?$", re.MULTILINE)


def blob_id(text: str) -> str:
    """The id git gives ``text`` as a blob."""
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def strip_team_line(text: str) -> str:
    return TEAM_LINE.sub("", text, count=1)


def min_replicas(text: str) -> int | None:
    """minReplicaCount as the text has it (read by a regular expression, not by envwake)."""
    found = MIN_REPLICAS.search(text.replace("\r\n", "\n"))
    return int(found.group(1)) if found else None


# -- printing ---------------------------------------------------------------------------------


def table(soak: Soak, wall: float) -> str:
    tally, report = soak.tally, soak.report
    created = [w for w in soak.wakes if w.created]
    kinds = Counter(w.kind for w in created)
    planned_h = tally.planned_cluster_minutes / 60
    ups = sorted(
        (w.announced_at - w.start) / MINUTE
        for w in created
        if w.announced_at is not None and w.announced_at >= w.start
    )
    wakeups = f"{ups[len(ups) // 2]:.0f} / {ups[-1]:.0f} virtual minutes" if ups else "none"
    stray = f"{len(report['open_pulls'])}, {len(report['branches'])}"
    team = f"{report['team_pulls']} ({report['team_merged']}) / {len(report['changed_team'])}"
    repeated = (
        f"{len(report['repeated_steps'])}, {len(report['repeated_events'])}, "
        f"{len(report['repeated_posts'])} (of {report['posts']} posts)"
    )
    hours = f"{tally.cluster_minutes / 60:.1f} / {planned_h:.1f}"
    outside = (
        f"{tally.transition_cluster_minutes / 60:.1f} / {tally.excess_cluster_minutes / 60:.1f}"
    )
    rows = [
        ("days (virtual)", f"{soak.options.days}"),
        ("wakes", f"{len(created)} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})"),
        ("minutes sampled", f"{tally.minutes} (skipped {tally.unsampled_minutes})"),
        ("minutes asked", f"{tally.minutes_asked}"),
        ("wake-ups, start to Awake: median / slowest", wakeups),
        ("minutes awake (of those)", f"{tally.minutes_awake}"),
        ("misses", f"{len(tally.misses)}"),
        ("base branch off the plan", f"{len(tally.branch_mismatches)} minutes"),
        ("resets not back in time", f"{len(tally.late_resets)}"),
        ("team's work lost", f"{len(tally.team_lost)}"),
        ("kills (SIGKILL) / restarts", f"{tally.kills} / {tally.restarts}"),
        ("envwake PRs", f"{report['envwake_pulls']}"),
        ("stray: envwake PRs open, branches left", stray),
        ("team PRs (merged) / changed by envwake", team),
        ("repeated: steps, events, Slack posts", repeated),
        ("cluster-hours: measured / planned", hours),
        ("  outside the plan: in transitions / beyond", outside),
        ("GitHub calls (API and git)", f"{report['github_calls']}"),
        ("wall time", f"{wall:.0f} s"),
        ("  by why the clock ran", soak._wall_by_reason(6)),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    details = [
        ("misses", tally.misses),
        ("base branch", tally.branch_mismatches),
        ("late resets", tally.late_resets),
        ("team", tally.team_lost),
        ("repeated steps", report["repeated_steps"]),
        ("repeated events", report["repeated_events"]),
        ("repeated posts", report["repeated_posts"]),
        ("kills", tally.kill_moments),
    ]
    for title, items in details:
        if items:
            lines.append(f"\n{title} ({len(items)}):")
            lines += [f"  {item}" for item in items[:15]]
            if len(items) > 15:
                lines.append(f"  ... and {len(items) - 15} more")
    return "\n".join(lines)


def failures(soak: Soak) -> list[str]:
    """What makes a soak fail."""
    tally, report = soak.tally, soak.report
    found = []
    for label, items in (
        ("misses", tally.misses),
        ("base-branch mismatches", tally.branch_mismatches),
        ("late resets", tally.late_resets),
        ("team work lost", tally.team_lost),
        ("envwake PRs left open", report["open_pulls"]),
        ("envwake branches left", report["branches"]),
        ("team PRs changed", report["changed_team"]),
        ("repeated steps", report["repeated_steps"]),
        ("repeated events", report["repeated_events"]),
        ("repeated Slack posts", report["repeated_posts"]),
    ):
        if items:
            found.append(f"{len(items)} {label}: {items[:3]}")
    if tally.excess_cluster_minutes:
        found.append(f"{tally.excess_cluster_minutes} cluster-minutes beyond the plan")
    return found


async def soak(options: Options) -> Soak:
    with contextlib.ExitStack() as exits:
        workdir = options.workdir or Path(exits.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        runner = Soak(options, workdir)
        await runner.run()
        return runner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--speed", type=float, default=100.0)
    parser.add_argument("--every", type=int, default=1, help="a wake every this many days")
    parser.add_argument(
        "--first-day",
        type=lambda text: datetime.fromisoformat(text).replace(tzinfo=TOKYO),
        default=Options.first_day,
        help="the first day, in Tokyo (default %(default)s)",
    )
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    options = Options(
        days=args.days,
        kills=args.kills,
        seed=args.seed,
        speed=args.speed,
        first_day=args.first_day,
        every=args.every,
        workdir=args.workdir,
    )
    started = time.monotonic()
    result = asyncio.run(soak(options))
    print(table(result, time.monotonic() - started))
    problems = failures(result)
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
