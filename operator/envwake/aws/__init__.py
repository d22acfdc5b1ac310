"""AWS: Aurora clusters and their EventBridge Scheduler schedules, across accounts.

Owns: per-account sessions (the default chain, or STS AssumeRole cached until shortly
before expiry), starting/stopping/waiting for Aurora clusters with AWS's error codes
translated into typed errors, holding and restoring schedules by a full
read-modify-write, and the guard against clusters AWS restarted by itself.
Must not: decide when to do any of it (the planner and reconciler do).
"""

from envwake.aws.aurora import AuroraClusters, ClusterState
from envwake.aws.guard import GuardFinding, guard_asleep
from envwake.aws.schedules import Schedules
from envwake.aws.sessions import AwsSessions, Waiting

__all__ = [
    "AuroraClusters",
    "AwsSessions",
    "ClusterState",
    "GuardFinding",
    "Schedules",
    "Waiting",
    "guard_asleep",
]
