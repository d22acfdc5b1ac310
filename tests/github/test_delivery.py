"""The pull-request lifecycle against the GitHub emulator: real repositories, real
merges, simulated CI, and every failure path."""

from __future__ import annotations

from envwake.gitops import ChangeSet, Edit, deliver

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


def test_delivering_again_finds_the_merged_pull_request_without_cloning(flux):
    first = run(flux)
    fetches = len(flux.github.git_bytes_sent)
    again = run(flux)
    assert again.status == "merged"
    assert again.pull.number == first.pull.number
    assert len(flux.repo.pulls) == 1
    assert len(flux.github.git_bytes_sent) == fetches  # no clone, no push


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
