"""The one error tree of envwake.

Every error envwake raises on purpose derives from ``EnvwakeError``; adapters translate
the exceptions of the libraries they wrap (``raise ... from exc``) at their boundary.
Each leaf carries a CamelCase ``reason`` that becomes the reason of a status condition
and of a Kubernetes event, so a person sees the same word everywhere::

    EnvwakeError
    ├── ManifestError                 a manifest cannot be edited as asked (permanent)
    │   ├── ManifestNotFound          the file does not exist or cannot be read
    │   ├── ManifestUnreadable        not UTF-8, or not valid YAML
    │   ├── DocumentNotFound          no document matches the kind / name asked for
    │   ├── DocumentAmbiguous         several documents match and nothing picks one
    │   ├── FieldPathInvalid          the field path crosses a non-mapping, or ends on one
    │   ├── FieldShared               the field sits in a node shared through a YAML alias
    │   └── FieldValueInvalid         the value to write, or a value read, is not acceptable
    ├── WakeInvalid                   a wake asks for something impossible (stop before start)
    ├── SyncError                     the cluster did not follow a merged change
    │   ├── SyncTimedOut              ScaledObjects still without the merged value [T]
    │   ├── ServicesNotReady          Deployments without ready pods in time [T]
    │   ├── FluxFailed                Flux says it cannot apply the revision (its words) [T]
    │   └── ClusterUnreadable         the Kubernetes API did not answer a read [T]
    ├── AwsError                      an AWS call did not do what was asked
    │   ├── AwsAccessDenied           AssumeRole or an API call was refused (names the role/call)
    │   ├── AwsUnavailable            throttled, 5xx or unreachable [T]
    │   ├── ClusterNotFound           no such Aurora cluster in that account and region
    │   ├── ClusterCannotChange       AWS refuses to start/stop it (names AWS's reason)
    │   ├── ClusterTimedOut           it did not reach available/stopped in time [T]
    │   └── ScheduleNotFound          no such EventBridge Scheduler schedule
    └── GitOpsError                   changing the Flux repository did not succeed
        ├── CredentialsInvalid        the GitHub App id, installation id or key is missing/bad
        ├── GitHubAuthFailed          GitHub refused the App's credentials, even fresh ones
        ├── GitHubRateLimited         rate limited for longer than we wait (retry_after) [T]
        ├── GitHubUnavailable         GitHub kept answering 5xx [T]
        ├── GitHubRequestRejected     GitHub refused a request we did not expect it to (4xx)
        ├── GitFailed                 a git command (clone, fetch, push) failed [T]
        ├── ChecksFailed              a gating check failed; the pull request was closed
        ├── ChecksTimedOut            gating checks did not finish in time [T]
        ├── MergeBlocked              not mergeable after regenerating; or not ours to merge
        └── PullRequestClosed         someone closed our pull request without merging it
    Unexpected                        a failure no adapter translated (a bug): reported [T]

[T] marks transient errors (``transient = True``): the reconciler retries them later;
the others stop the work and are reported until something changes.

Messages name what is wrong and where (file, document, dotted path) and never carry a
secret.
"""

from __future__ import annotations

__all__ = [
    "AwsAccessDenied",
    "AwsError",
    "AwsUnavailable",
    "ChecksFailed",
    "ChecksTimedOut",
    "ClusterCannotChange",
    "ClusterNotFound",
    "ClusterTimedOut",
    "ClusterUnreadable",
    "CredentialsInvalid",
    "DocumentAmbiguous",
    "DocumentNotFound",
    "EnvwakeError",
    "FieldPathInvalid",
    "FieldShared",
    "FieldValueInvalid",
    "FluxFailed",
    "GitFailed",
    "GitHubAuthFailed",
    "GitHubRateLimited",
    "GitHubRequestRejected",
    "GitHubUnavailable",
    "GitOpsError",
    "KubernetesRequestFailed",
    "ManifestError",
    "ManifestNotFound",
    "ManifestUnreadable",
    "MergeBlocked",
    "PullRequestClosed",
    "ScheduleNotFound",
    "ServicesNotReady",
    "SlackSetupInvalid",
    "SyncError",
    "SyncTimedOut",
    "Unexpected",
    "WakeInvalid",
]


class EnvwakeError(Exception):
    """Base of every error envwake raises on purpose."""

    reason: str = "Error"
    transient: bool = False


class ManifestError(EnvwakeError):
    """A manifest cannot be read or edited as asked; retrying will not help."""

    reason = "ManifestInvalid"


class ManifestNotFound(ManifestError):
    reason = "ManifestNotFound"


class ManifestUnreadable(ManifestError):
    reason = "ManifestUnreadable"


class DocumentNotFound(ManifestError):
    reason = "DocumentNotFound"


class DocumentAmbiguous(ManifestError):
    reason = "DocumentAmbiguous"


class FieldPathInvalid(ManifestError):
    reason = "FieldPathInvalid"


class FieldShared(ManifestError):
    reason = "FieldShared"


class FieldValueInvalid(ManifestError):
    reason = "FieldValueInvalid"


class WakeInvalid(EnvwakeError):
    """A wake asks for something impossible; it is rejected before any side effect."""

    reason = "WakeInvalid"


class GitOpsError(EnvwakeError):
    """Changing the Flux repository did not succeed."""

    reason = "GitOpsFailed"
    # the pull request it happened to, as (number, url, state), when there was one
    pull: tuple[int, str, str] | None = None


class CredentialsInvalid(GitOpsError):
    reason = "CredentialsInvalid"


class GitHubAuthFailed(GitOpsError):
    reason = "GitHubAuthFailed"


class GitHubRateLimited(GitOpsError):
    reason = "GitHubRateLimited"
    transient = True

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class GitHubUnavailable(GitOpsError):
    reason = "GitHubUnavailable"
    transient = True


class GitHubRequestRejected(GitOpsError):
    reason = "GitHubRequestRejected"


class GitFailed(GitOpsError):
    reason = "GitFailed"
    transient = True


class ChecksFailed(GitOpsError):
    reason = "ChecksFailed"

    def __init__(self, message: str, *, check: str, url: str | None) -> None:
        super().__init__(message)
        self.check = check
        self.url = url


class ChecksTimedOut(GitOpsError):
    reason = "ChecksTimedOut"
    transient = True

    def __init__(self, message: str, *, checks: list[str]) -> None:
        super().__init__(message)
        self.checks = checks


class MergeBlocked(GitOpsError):
    reason = "MergeBlocked"


class PullRequestClosed(GitOpsError):
    reason = "PullRequestClosed"


class AwsError(EnvwakeError):
    """An AWS call did not do what was asked."""

    reason = "AwsFailed"


class AwsAccessDenied(AwsError):
    reason = "AwsAccessDenied"


class AwsUnavailable(AwsError):
    reason = "AwsUnavailable"
    transient = True


class ClusterNotFound(AwsError):
    reason = "ClusterNotFound"


class ClusterCannotChange(AwsError):
    reason = "ClusterCannotChange"


class ClusterTimedOut(AwsError):
    reason = "ClusterTimedOut"
    transient = True


class ScheduleNotFound(AwsError):
    reason = "ScheduleNotFound"


class KubernetesRequestFailed(EnvwakeError):
    """The Kubernetes API refused a request of the CLI, or could not be reached."""

    reason = "KubernetesRequestFailed"

    def __init__(self, message: str, *, status: int | None = None, transient: bool = False) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status the API server answered, if it answered
        self.transient = transient  # a conflict, throttling, a passing 5xx, unreachable


class SlackSetupInvalid(EnvwakeError):
    """The Slack app's tokens, secret or settings are missing or wrong."""

    reason = "SlackSetupInvalid"


class SyncError(EnvwakeError):
    """The cluster did not follow a merged change."""

    reason = "SyncFailed"


class SyncTimedOut(SyncError):
    reason = "SyncTimedOut"
    transient = True


class ServicesNotReady(SyncError):
    reason = "ServicesNotReady"
    transient = True


class FluxFailed(SyncError):
    """Flux reports it cannot apply the revision (a manifest that does not build...)."""

    reason = "FluxFailed"
    transient = True


class ClusterUnreadable(SyncError):
    reason = "ClusterUnreadable"
    transient = True


class Unexpected(EnvwakeError):
    """An exception no adapter translated: reported (type and message), retried later."""

    reason = "Unexpected"
    transient = True
