"""The pull-request lifecycle against the GitHub emulator: real repositories, real
merges, simulated CI, and every failure path."""

from __future__ import annotations

import dataclasses
import re

import pytest
import requests

from envwake import errors
from envwake.gitops import ChangeSet, Edit, deliver
from envwake.sandbox.github import CiJob, Fault

from .conftest import REPO, Flux, assert_no_secret, count, pr_texts, settings

WAKE = ChangeSet(
    environment="dev",
    action="start",
    edits=(
        Edit("apps/shop/api/scaledobject.yaml", "min-replicas", 2),
        Edit("apps/shop/web/scaledobject.yaml", "min-replicas", 2),
        Edit("apps/payments/ledger/scaledobject.yaml", "min-replicas", 1),
        Edit(
            "apps/shop/api/deployment.yaml",
            "annotation",
            "2026-11-28T10:00:00+09:00",
            key="flagger.app/restartedAt",
        ),
    ),
    wakes=("envwake/saturday-release-test (hanako.yamada)",),
    reason="Release 2026.11 regression test",
)


def run(flux: Flux, change: ChangeSet = WAKE, *, git=None, timing=None, session=None):
    with session or flux.session() as github:
        return deliver(
            change,
            session=github,
            git=git or settings(),
            clone_url=flux.github.clone_url(REPO),
            workdir=flux.tmp,
            timing=timing or flux.timing(),
        )


def test_change_set_is_merged_as_one_commit(flux):
    before = flux.repo.store.ref("master")
    delivery = run(flux)

    assert delivery.status == "merged"
    assert delivery.branch.startswith("envwake/dev/start-")
    (pr,) = flux.repo.pulls.values()
    assert pr.merged
    assert pr.merge_commit_sha == delivery.merge_sha == flux.repo.store.ref("master")
    assert flux.repo.store.git("rev-parse", f"{delivery.merge_sha}^1") == before
    changed = flux.repo.store.git("diff", "--name-only", before, delivery.merge_sha).split()
    assert sorted(changed) == sorted(e.path for e in WAKE.edits)
    assert "minReplicaCount: 2" in flux.base_file("apps/shop/api/scaledobject.yaml")
    assert 'flagger.app/restartedAt: "2026-11-28T10:00:00+09:00"' in flux.base_file(
        "apps/shop/api/deployment.yaml"
    )
    assert flux.repo.store.ref(delivery.branch) is None  # branch deleted
    assert all(token.revoked for token in flux.github.state.tokens.values())


def test_pull_request_says_what_and_why(flux):
    run(flux)
    (pr,) = flux.repo.pulls.values()
    assert pr.title == "envwake: start dev (4 files)"
    for text in (
        "environment **dev**",
        "Release 2026.11 regression test",
        "hanako.yamada",
        "`apps/shop/web/scaledobject.yaml`",
        "`spec.minReplicaCount`",
        "`0` | `2`",
        "`spec.template.metadata.annotations.flagger.app/restartedAt`",
        "_absent_",
    ):
        assert text in pr.body
    assert_no_secret(flux, *pr_texts(flux))


def test_waits_for_the_gating_check_without_sleeping_on_the_wall_clock(flux):
    run(flux)
    assert sum(flux.time.slept) >= 60  # CI takes 60 s on the emulator's clock
    assert count(flux, "PUT", r"/pulls/\d+/merge") == 1


def test_delivering_again_reads_the_base_branch_and_finds_it_done(flux):
    first = run(flux)
    pushes, calls = count(flux, "POST", r"git-receive-pack"), len(flux.github.requests)
    again = run(flux)
    assert again.status == "unchanged"
    assert again.base_sha == first.merge_sha  # the base head that holds it
    assert len(flux.repo.pulls) == 1
    assert count(flux, "POST", r"git-receive-pack") == pushes  # nothing pushed
    # the token, the (absent) open pull request, revoking: no branch rules, no merge
    made = [(m, p) for m, p, _ in flux.github.requests[calls:] if not p.endswith(".git")]
    assert [m for m, _ in made if "/pulls" in _ or "/merge" in _] == ["GET"]


def test_the_same_change_a_week_later_is_delivered_again(flux):
    """Last week's merged pull request of the same content proves nothing: the stop put
    the values back since, so tonight's wake must change them again."""
    first = run(flux)
    files = {path: flux.base_file(path) for path in WAKE.paths}
    flux.github.service.push_to_base(
        REPO,
        {
            path: text.replace("minReplicaCount: 2", "minReplicaCount: 0")
            for path, text in files.items()
        }
        | {
            "apps/payments/ledger/scaledobject.yaml": files[
                "apps/payments/ledger/scaledobject.yaml"
            ].replace("minReplicaCount: 1", "minReplicaCount: 0")
        },
        "the stop of last week (another pull request)",
    )
    assert "minReplicaCount: 0" in flux.base_file("apps/shop/api/scaledobject.yaml")
    again = run(flux)
    assert again.status == "merged"
    assert again.pull.number != first.pull.number
    assert "minReplicaCount: 2" in flux.base_file("apps/shop/api/scaledobject.yaml")
    assert "minReplicaCount: 1" in flux.base_file("apps/payments/ledger/scaledobject.yaml")
    assert [pr.merged for pr in flux.repo.pulls.values()] == [True, True]


def test_each_action_instance_has_its_own_branch():
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    saturday = datetime(2026, 11, 28, 22, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    this_week = dataclasses.replace(WAKE, action="stop", instant=saturday)
    next_week = dataclasses.replace(this_week, instant=saturday + timedelta(days=7))
    assert this_week.branch.startswith("envwake/dev/stop-20261128T1300Z-")
    assert this_week.branch != next_week.branch
    assert this_week.branch == dataclasses.replace(this_week).branch  # stable for a restart
    assert this_week.digest == next_week.digest  # same content


def test_values_already_in_place_make_no_commit_branch_or_pull_request(flux):
    already = ChangeSet(
        "dev", "reset", (Edit("apps/shop/api/scaledobject.yaml", "min-replicas", 0),)
    )
    before = flux.repo.store.ref("master")
    delivery = run(flux, already)
    assert delivery.status == "unchanged"
    assert delivery.pull is None
    assert flux.repo.pulls == {}
    assert flux.repo.store.refs() == {"master": before}


# -- checks ------------------------------------------------------------------------------------


def test_failed_check_closes_the_pull_request_and_names_the_check(flux):
    flux.repo.ci = [CiJob("build", outcome="failure", seconds=30)]
    before = flux.repo.store.ref("master")
    with pytest.raises(errors.ChecksFailed) as failed:
        run(flux)
    assert failed.value.check == "build"
    assert "/runs/" in (failed.value.url or "")
    assert "check build failed on pull request #1" in str(failed.value)
    (pr,) = flux.repo.pulls.values()
    assert pr.state == "closed"
    assert not pr.merged
    assert "check `build` failed" in pr.comments[0]
    assert flux.repo.store.ref("master") == before  # nothing merged
    assert flux.repo.store.refs().keys() == {"master"}
    assert all(token.revoked for token in flux.github.state.tokens.values())


def test_commit_statuses_gate_too(flux):
    flux.repo.required_checks = ["build", "lint"]
    flux.repo.ci = [
        CiJob("build", seconds=10),
        CiJob("lint", outcome="failure", seconds=90, kind="status"),
    ]
    with pytest.raises(errors.ChecksFailed) as failed:
        run(flux)
    assert failed.value.check == "lint"
    assert failed.value.url.startswith("https://ci.example.com/")


def test_green_check_run_waits_for_a_pending_status(flux):
    flux.repo.required_checks = ["build", "lint"]
    flux.repo.ci = [CiJob("build", seconds=10), CiJob("lint", seconds=300, kind="status")]
    delivery = run(flux)
    assert delivery.status == "merged"
    assert flux.time.now >= 300


def test_configured_checks_override_the_required_ones(flux):
    flux.repo.ci = [CiJob("build", seconds=10), CiJob("e2e", outcome="failure", seconds=20)]
    with pytest.raises(errors.ChecksFailed) as failed:
        run(flux, git=settings(checks=["build", "e2e"]))
    assert failed.value.check == "e2e"


def test_checks_that_never_finish_time_out_naming_them(flux):
    flux.repo.ci = [CiJob("build", outcome="hang")]
    with pytest.raises(errors.ChecksTimedOut) as timed_out:
        run(flux, timing=flux.timing(check_timeout=600))
    assert timed_out.value.checks == ["build"]
    assert timed_out.value.transient
    assert "build did not finish within 600s" in str(timed_out.value)
    (pr,) = flux.repo.pulls.values()
    assert pr.state == "open"  # left for the next attempt to adopt


def test_after_a_restart_the_open_pull_request_is_adopted(flux):
    flux.repo.ci = [CiJob("build", outcome="hang")]
    with pytest.raises(errors.ChecksTimedOut):
        run(flux, timing=flux.timing(check_timeout=60))
    pushes = count(flux, "POST", r"git-receive-pack")
    flux.repo.ci = [CiJob("build", seconds=10)]
    # CI reports on the same head (a re-run), then envwake runs again.
    (pr,) = flux.repo.pulls.values()
    flux.github.service.start_ci(flux.repo, pr.head_sha)
    delivery = run(flux)
    assert delivery.status == "merged"
    assert delivery.pull.number == pr.number
    assert len(flux.repo.pulls) == 1
    assert count(flux, "POST", r"git-receive-pack") == pushes  # same change: not pushed again


# -- the base moves, the head is not ours --------------------------------------------------------


def conflicting_base(flux):
    path = "apps/shop/api/scaledobject.yaml"
    text = (
        flux.base_file(path)
        .replace("maxReplicaCount: 10", "maxReplicaCount: 12")
        .replace("minReplicaCount: 0", "minReplicaCount: 1")
    )
    return path, text


def test_base_moving_into_a_conflict_regenerates_the_commit(flux):
    path, text = conflicting_base(flux)

    def move_base_once():
        flux.time.on_sleep.clear()
        flux.github.service.push_to_base(REPO, {path: text}, "someone edits api")

    flux.time.on_sleep.append(move_base_once)
    delivery = run(flux)
    assert delivery.status == "merged"
    assert delivery.regenerations == 1
    merged = flux.base_file(path)
    assert "maxReplicaCount: 12" in merged  # their change kept
    assert "minReplicaCount: 2" in merged  # ours applied on top
    assert len(flux.repo.pulls) == 1


def test_base_that_keeps_moving_is_reported(flux):
    path = "apps/shop/api/scaledobject.yaml"
    heads_seen: set[str] = set()

    def move_base_under_each_new_head():
        heads = {pr.head_sha for pr in flux.repo.pulls.values() if pr.state == "open"}
        if heads and not heads <= heads_seen:
            heads_seen.update(heads)
            text = re.sub(
                r"minReplicaCount: \d+",
                f"minReplicaCount: {10 + len(heads_seen)}",
                flux.base_file(path),
            )
            flux.github.service.push_to_base(REPO, {path: text}, "someone else, again")

    flux.time.on_sleep.append(move_base_under_each_new_head)
    with pytest.raises(errors.MergeBlocked, match="after 2 regenerations"):
        run(flux, timing=flux.timing(regenerations=2))
    assert len(flux.repo.pulls) == 1


def test_head_pushed_by_someone_else_is_never_merged(flux):
    branch = WAKE.branch
    path = "apps/shop/api/scaledobject.yaml"

    def push_to_our_branch_once():
        if flux.repo.store.ref(branch):
            flux.time.on_sleep.clear()
            flux.repo.store.commit_files(branch, {path: "kind: Nope\n"}, "not envwake")
            flux.github.service.after_push(flux.repo, {**flux.repo.store.refs(), branch: "x"})

    flux.time.on_sleep.append(push_to_our_branch_once)
    delivery = run(flux)
    assert delivery.regenerations == 1
    assert "kind: ScaledObject" in flux.base_file(path)  # their commit was replaced, not merged


def test_merge_queue_enqueues_instead_of_merging(flux):
    flux.repo.merge_queue = True
    delivery = run(flux)
    assert delivery.status == "merged"
    assert count(flux, "POST", r"^/graphql$") == 1
    assert count(flux, "PUT", r"/merge$") == 0


def test_a_merge_queue_that_never_merges_times_out(flux):
    flux.repo.merge_queue = True
    flux.repo.merge_queue_paused = True
    with pytest.raises(errors.ChecksTimedOut, match="the merge queue did not finish within 900s"):
        run(flux)
    (pr,) = flux.repo.pulls.values()
    assert pr.state == "open"  # left for the next attempt to adopt
    assert flux.time.now <= 900 + 60  # waited out once, not for ever


def test_a_required_check_github_keeps_expecting_times_out_naming_it(flux):
    """Classic branch protection: ``rules/branches`` reports nothing, and the merge keeps
    being refused with 405 'Required status check ... is expected'."""
    flux.repo.required_checks = []  # what rules/branches returns
    flux.github.service.inject(
        Fault("PUT", r"/merge$", 405, message='Required status check "e2e" is expected.', times=500)
    )
    with pytest.raises(errors.ChecksTimedOut) as timed_out:
        run(flux)
    assert timed_out.value.checks == ["required check e2e"]
    assert "required check e2e did not finish within 900s" in str(timed_out.value)
    assert count(flux, "PUT", r"/merge$") < 500


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_merge_methods(flux, method):
    delivery = run(flux, git=settings(mergeMethod=method))
    parents = flux.repo.store.git("log", "-1", "--format=%P", delivery.merge_sha).split()
    assert len(parents) == (2 if method == "merge" else 1)
    assert "minReplicaCount: 2" in flux.base_file("apps/shop/web/scaledobject.yaml")


# -- GitHub faults -------------------------------------------------------------------------------


def test_5xx_burst_is_retried_and_opens_one_pull_request(flux):
    flux.github.service.inject(Fault("POST", r"/pulls$", 502, times=2))
    flux.github.service.inject(Fault("GET", r"/pulls/\d+$", 503, times=1))
    flux.github.service.inject(Fault("PUT", r"/merge$", 500, times=1))
    delivery = run(flux)
    assert delivery.status == "merged"
    assert len(flux.repo.pulls) == 1


def test_5xx_that_persists_is_reported_as_unavailable(flux):
    flux.github.service.inject(Fault("GET", r"/pulls$", 502, times=10))
    with pytest.raises(errors.GitHubUnavailable, match="502 4 times"):
        run(flux)
    assert all(token.revoked for token in flux.github.state.tokens.values())


def test_secondary_rate_limit_honours_retry_after(flux):
    flux.github.service.inject(
        Fault(
            "POST",
            r"/pulls$",
            403,
            headers={"Retry-After": "7"},
            message="You have exceeded a secondary rate limit.",
        )
    )
    delivery = run(flux)
    assert delivery.status == "merged"
    assert 7.0 in flux.time.slept


def test_429_with_a_long_retry_after_is_handed_back(flux):
    flux.github.service.inject(Fault("GET", r"/pulls$", 429, headers={"Retry-After": "3600"}))
    with pytest.raises(errors.GitHubRateLimited) as limited:
        run(flux)
    assert limited.value.retry_after == 3600
    assert limited.value.transient


def test_exhausted_primary_limit_waits_for_the_reset(flux):
    reset = 1_900_000_030
    flux.github.service.inject(
        Fault(
            "GET",
            r"/rules/branches/",
            403,
            message="API rate limit exceeded for installation.",
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        )
    )
    session = flux.session(wall_clock=lambda: reset - 30.0)
    delivery = run(flux, session=session)
    assert delivery.status == "merged"
    assert 31.0 in flux.time.slept


def test_401_gets_one_fresh_token(flux):
    flux.github.service.inject(Fault("GET", r"/pulls$", 401, message="Bad credentials"))
    assert run(flux).status == "merged"
    assert len(flux.github.state.tokens) == 2
    assert all(token.revoked for token in flux.github.state.tokens.values())


def test_401_twice_fails_clearly(flux):
    flux.github.service.inject(Fault("GET", r"/pulls$", 401, message="Bad credentials", times=2))
    with pytest.raises(errors.GitHubAuthFailed, match="refused a fresh installation token"):
        run(flux)


def test_missing_manifest_is_reported_before_anything_is_pushed(flux):
    change = ChangeSet("dev", "start", (Edit("apps/nope/scaledobject.yaml", "min-replicas", 1),))
    with pytest.raises(errors.ManifestNotFound, match=r"apps/nope/scaledobject\.yaml"):
        run(flux, change)
    assert flux.repo.pulls == {}
    assert count(flux, "POST", r"git-receive-pack") == 0


def test_large_change_set_fetches_its_blobs_lazily(flux):
    # git gzips larger fetch requests; the emulator once mishandled them.
    files = {
        f"apps/bulk/svc-{i:02d}/scaledobject.yaml": flux.base_file(
            "apps/shop/api/scaledobject.yaml"
        ).replace("name: api", f"name: svc-{i:02d}")
        for i in range(40)
    }
    flux.github.service.push_to_base(REPO, files, "forty services")
    change = ChangeSet(
        "dev", "start", tuple(Edit(path, "min-replicas", 2) for path in sorted(files))
    )
    delivery = run(flux, change)
    assert delivery.status == "merged"
    assert all("minReplicaCount: 2" in flux.base_file(path) for path in files)


@pytest.mark.parametrize(
    ("status", "message", "regenerations"),
    [
        pytest.param(
            409, "Head branch was modified. Review and try the merge again.", 1, id="409-head-moved"
        ),
        pytest.param(405, "Pull Request is not mergeable", 1, id="405-not-mergeable"),
        pytest.param(405, 'Required status check "build" is expected.', 0, id="405-check-expected"),
    ],
)
def test_merge_refusals(flux, status, message, regenerations):
    flux.github.service.inject(Fault("PUT", r"/merge$", status, message=message))
    delivery = run(flux)
    assert delivery.status == "merged"
    assert delivery.regenerations == regenerations
    assert count(flux, "PUT", r"/merge$") == 2
    assert len(flux.repo.pulls) == 1


def test_unexpected_merge_refusal_is_reported(flux):
    flux.github.service.inject(
        Fault("PUT", r"/merge$", 405, message="At least 1 approving review is required.")
    )
    with pytest.raises(errors.MergeBlocked, match="approving review"):
        run(flux)


def test_checks_reported_through_the_api_gate_the_merge(flux):
    """A CI outside the emulator reports a check run and a commit status by REST."""
    flux.repo.required_checks = ["external-ci", "security-scan"]
    flux.repo.ci = []
    session = flux.session()
    headers = {}

    def report_once():
        pr = next(iter(flux.repo.pulls.values()), None)
        if pr is None or headers.get("done"):
            return
        headers["done"] = True
        app = flux.github.state.apps[flux.credentials.app_id]
        ci = flux.github.service.issue_token(
            app, flux.credentials.installation_id, None, {"checks": "write", "statuses": "write"}
        )
        auth = {"Authorization": f"token {ci.value}"}
        api = f"{flux.github.url}/repos/{REPO}"
        run_ = requests.post(
            f"{api}/check-runs",
            headers=auth,
            json={
                "name": "external-ci",
                "head_sha": pr.head_sha,
                "status": "completed",
                "conclusion": "success",
            },
        )
        status = requests.post(
            f"{api}/statuses/{pr.head_sha}",
            headers=auth,
            json={
                "state": "success",
                "context": "security-scan",
                "target_url": "https://scan.example.com/1",
            },
        )
        assert (run_.status_code, status.status_code) == (201, 201)

    flux.time.on_sleep.append(report_once)
    assert run(flux, session=session).status == "merged"


def test_unexpected_4xx_is_a_typed_error(flux):
    flux.github.service.inject(Fault("GET", r"/rules/branches/", 404, message="Not Found"))
    with pytest.raises(
        errors.GitHubRequestRejected, match="404 while reading the rules of master: Not Found"
    ):
        run(flux)
