"""The guard: AWS starts a stopped Aurora cluster by itself after seven days."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from envwake.aws.aurora import AuroraClusters, ClusterState
from envwake.model.environment import RdsClusterEntry

__all__ = ["GuardFinding", "guard_asleep"]


@dataclass(frozen=True)
class GuardFinding:
    state: ClusterState
    verdict: Literal["asleep", "found-available", "stopped-again"]

    @property
    def message(self) -> str:
        where = f"{self.state.cluster_id}" + (
            f" (account {self.state.account})" if self.state.account else ""
        )
        if self.verdict == "asleep":
            return f"{where} is {self.state.status}, as it should be"
        if self.verdict == "found-available":
            return (
                f"{where} is available while the environment should be asleep "
                "(AWS restarts a stopped cluster after 7 days); left running as configured"
            )
        return f"{where} was available while the environment should be asleep; stopped it again"


def guard_asleep(clusters: AuroraClusters, entry: RdsClusterEntry, *, stop: bool) -> GuardFinding:
    """For an environment that should be asleep: report a cluster found available, and
    stop it when ``stop`` (the config's ``aws.stopClustersFoundAvailable``)."""
    state = clusters.describe(entry)
    if state.status != "available":
        return GuardFinding(state, "asleep")
    if not stop:
        return GuardFinding(state, "found-available")
    return GuardFinding(clusters.stop(entry, wait=False), "stopped-again")
