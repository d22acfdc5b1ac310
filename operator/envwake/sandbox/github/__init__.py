"""A local GitHub: the REST endpoints envwake uses, over real bare Git repositories.

Owns: GitHub App JWT checks and installation tokens (issue, scope, revoke), pull
requests whose merges are real git merges (merge, squash, rebase) into the base branch,
check runs and commit statuses, simulated CI per repository (pass, fail or hang after a
delay measured on an injectable clock), branch rules (required checks, merge queue),
fault injection (5xx, 403/429 with their headers, a base branch that moves), and Git
smart HTTP (clone, fetch with partial clone, push) authenticated by installation token.
Must not: be used by the operator outside the local stack and tests.
"""

from envwake.sandbox.github.server import GitHubEmulator
from envwake.sandbox.github.state import CiJob, Fault

__all__ = ["CiJob", "Fault", "GitHubEmulator"]
