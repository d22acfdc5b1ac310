"""The cluster tier: one real GitOps cluster (tests/cluster/cluster.py) for the session.

Skipped where its programs are missing; a failure when ENVWAKE_REQUIRE_CLUSTER=1 (CI).
``make test`` runs this folder in a pytest process of its own, beside the rest; run
with xdist (``--dist loadgroup``), its tests stay on one worker (the group ``cluster``),
so a session starts one cluster, not one per worker.
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/cluster/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.xdist_group("cluster"))


@pytest.fixture(scope="session")
def real_cluster():
    from tests.cluster.cluster import RealCluster, why_unavailable

    reason = why_unavailable()
    if reason is not None:
        if os.environ.get("ENVWAKE_REQUIRE_CLUSTER") == "1":
            pytest.fail(f"the cluster tier is required here: {reason}")
        pytest.skip(f"cluster tier: {reason}")
    with RealCluster() as cluster:
        yield cluster
