"""Converging one environment to what its wakes, its config and the clock want.

Owns: observe (manifest values on the base branch, pull requests, cluster and schedule
states, what the cluster applied) → plan (pure, from ``planning``) → act (through the
GitOps and AWS adapters), and a report of every step for status and events.
Must not: talk to Kubernetes about EnvironmentWakes (the handlers do), or read the
clock (``now`` comes in).
"""

from envwake.reconciler.converge import Adapters, ClusterView, Reconciler
from envwake.reconciler.report import (
    ClusterRecord,
    EnvironmentReport,
    PullRequestRecord,
    Record,
    Step,
)

__all__ = [
    "Adapters",
    "ClusterRecord",
    "ClusterView",
    "EnvironmentReport",
    "PullRequestRecord",
    "Reconciler",
    "Record",
    "Step",
]
