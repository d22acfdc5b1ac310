"""Condition types and reasons of EnvironmentWake status, in one place.

``Ready`` is the summary machines watch. ``Valid`` says whether the spec can be acted
on; ``Awake`` whether the environment is held awake for this wake now; ``Synced``
whether the cluster applied what was merged; ``Failed`` is True with the reason of the
last permanent failure. Every error's ``reason`` is one of ``REASONS`` (a test checks).
"""

from __future__ import annotations

from typing import Final

__all__ = ["CONDITION_TYPES", "PHASES", "REASONS"]

CONDITION_TYPES: Final = ("Ready", "Valid", "Awake", "Synced", "Failed")
PHASES: Final = ("Scheduled", "Starting", "Awake", "Extending", "Stopping", "Completed", "Failed")

REASONS: Final = frozenset(
    {
        # progress and success
        "Scheduled",
        "Starting",
        "Awake",
        "Extending",
        "Stopping",
        "Completed",
        "Cancelled",
        "Asleep",
        "Reset",
        "Progressing",
        "KubernetesRequestFailed",
        "SpecValid",
        "Synced",
        "ServicesReady",
        "ScheduleHeld",
        "ScheduleRestored",
        "ClusterStarting",
        "ClusterAvailable",
        "ClusterStopping",
        "ClusterStopped",
        "Pushed",
        "ChecksPassed",
        "PullRequestOpened",
        "Merged",
        "CoveredByNormalSchedule",
        "NormalScheduleLate",
        "Superseded",
        # the error tree (envwake.errors), one reason per leaf
        "Error",
        "ManifestInvalid",
        "ManifestNotFound",
        "ManifestUnreadable",
        "DocumentNotFound",
        "DocumentAmbiguous",
        "FieldPathInvalid",
        "FieldShared",
        "FieldValueInvalid",
        "WakeInvalid",
        "SlackSetupInvalid",
        "GitOpsFailed",
        "CredentialsInvalid",
        "GitHubAuthFailed",
        "GitHubRateLimited",
        "GitHubUnavailable",
        "GitHubRequestRejected",
        "GitFailed",
        "ChecksFailed",
        "ChecksTimedOut",
        "MergeBlocked",
        "PullRequestClosed",
        "SyncFailed",
        "SyncTimedOut",
        "ServicesNotReady",
        "FluxFailed",
        "ClusterUnreadable",
        "Unexpected",
        "AwsFailed",
        "AwsAccessDenied",
        "AwsUnavailable",
        "ClusterNotFound",
        "ClusterCannotChange",
        "ClusterTimedOut",
        "ScheduleNotFound",
        "EnvironmentUnknown",
    }
)
