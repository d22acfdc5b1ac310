"""GitHub asks integrators to leave at least a second between writes (POST, PATCH, PUT,
DELETE) and not to burst requests (research/github.md); envwake spaces its requests on
the session's own clock, so that a virtual clock sees the waits (PyGithub's spacing
sleeps on the wall clock)."""

from __future__ import annotations

from envwake.gitops import GitHubSession

from .conftest import REPO


def test_writes_are_a_second_apart_and_reads_a_quarter_on_the_sessions_clock(flux):
    session = GitHubSession(
        flux.credentials, REPO, sleep=flux.time.sleep, monotonic=flux.time.monotonic
    )
    with session:  # the token: a write, at 0
        session.branch_rules("master")  # a read: a quarter second after it
        session.delete_branch("envwake/none")  # a write: a second after the first
        session.branch_rules("master")  # a read: a quarter second after that
        session.delete_branch("envwake/none")  # a write: a second after the last
    # (and the revoke, a write, a second after that)
    assert flux.time.slept == [0.25, 0.75, 0.25, 0.75, 1.0]
    writes = [m for m, _, _ in flux.github.requests if m != "GET"]
    assert writes == ["POST", "DELETE", "DELETE", "DELETE"]


def test_spacing_off_waits_for_nothing(flux):
    with flux.session() as session:
        session.branch_rules("master")
        session.delete_branch("envwake/none")
    assert flux.time.slept == []
