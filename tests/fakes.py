"""Test doubles shared by the suites."""

from __future__ import annotations

from dataclasses import dataclass, field

from envwake.localstack import StackTiming
from envwake.sandbox.github import GitHubEmulator


@dataclass
class FakeTime:
    """Time that passes only when the code under test sleeps: the GitHub emulator's CI
    moves with it; ``world`` hooks (the normal schedule, Flux) and then ``on_sleep``
    hooks (a test's own) run on each sleep."""

    github: GitHubEmulator
    now: float = 0.0
    slept: list[float] = field(default_factory=list)
    on_sleep: list = field(default_factory=list)
    world: list = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self.github.service.advance(seconds)
        for hook in [*self.world, *self.on_sleep]:
            hook()

    def monotonic(self) -> float:
        return self.now


# The local stack for tests: short CI, cluster and pod times (in the stack's virtual
# seconds), so a whole wake takes seconds; the demo keeps realistic ones.
QUICK_STACK = StackTiming(ci_seconds=20.0, cluster_seconds=60.0, pods_ready_seconds=10.0)
