"""Everything that changes the Flux repository: GitHub App auth, the working copy, change
sets and the pull-request lifecycle.

Owns: minting a repository-scoped installation token and always revoking it; a
blobless, depth-1, sparse working copy with only the files to edit; one commit per
change set on a deterministic branch; finding or opening the pull request, gating on
checks, merging with the head-SHA guard, and typed errors for every failure.
Must not: decide what to change or when (the planner and reconciler do), or let a
token or key reach a log, an exception, a PR or ``.git/config``.
"""

from envwake.gitops.changes import ChangeSet, Edit
from envwake.gitops.credentials import AppCredentials, Secret
from envwake.gitops.delivery import Delivery, Timing, deliver
from envwake.gitops.github import GitHubSession

__all__ = [
    "AppCredentials",
    "ChangeSet",
    "Delivery",
    "Edit",
    "GitHubSession",
    "Secret",
    "Timing",
    "deliver",
]
