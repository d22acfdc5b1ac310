"""Aurora clusters on moto server, with real transitional states and two accounts."""

from __future__ import annotations

import pytest

from envwake import errors
from envwake.aws import guard_asleep
from envwake.sandbox.aws import AwsEmulator, AwsFault

from .conftest import OTHER_ACCOUNT, PAYMENTS, SHOP, entry


@pytest.fixture
def both(aws):
    aws.create_cluster("shop-db")
    aws.create_cluster("payments-db", account=OTHER_ACCOUNT)


def test_start_and_stop_in_two_accounts(aws, both, clusters, clock):
    for cluster in (SHOP, PAYMENTS):
        assert clusters.describe(cluster).status == "stopped"
        assert clusters.start(cluster).status == "available"
    assert aws.cluster_status("payments-db", account=OTHER_ACCOUNT) == "available"
    assert clock.now >= 60  # it passed through "starting" on the emulated clock
    for cluster in (SHOP, PAYMENTS):
        assert clusters.stop(cluster).status == "stopped"
    assert aws.cluster_status("shop-db") == "stopped"


def test_accounts_are_isolated(aws, both, clusters):
    wrong = entry("payments-db")  # right name, but our own account
    with pytest.raises(errors.ClusterNotFound, match="Aurora cluster payments-db does not exist"):
        clusters.describe(wrong)


def test_start_without_waiting_returns_starting(aws, both, clusters):
    assert clusters.start(SHOP, wait=False).status == "starting"


def test_a_starting_cluster_is_waited_for_not_started_again(aws, both, clusters, recorder):
    clusters.start(SHOP, wait=False)
    assert clusters.start(SHOP).status == "available"
    assert len(recorder.of("StartDBCluster")) == 1


def test_stop_while_starting_waits_then_stops(aws, both, clusters, recorder):
    clusters.start(SHOP, wait=False)
    assert clusters.stop(SHOP).status == "stopped"
    assert len(recorder.of("StopDBCluster")) == 1


def test_already_in_the_target_state_makes_no_call(aws, both, clusters, recorder):
    clusters.stop(SHOP)
    assert recorder.of("StopDBCluster") == []


def test_invalid_state_fault_while_transitional_is_retried(aws, both, clusters, recorder):
    aws.inject(
        AwsFault(
            "StartDBCluster",
            "InvalidDBClusterStateFault",
            message="DbCluster shop-db is in stopping state",
        )
    )
    assert clusters.start(SHOP).status == "available"
    assert len(recorder.of("StartDBCluster")) == 2


def test_invalid_state_fault_on_a_cluster_that_looks_ready_is_not_retried_forever(
    aws, both, clusters
):
    aws.inject(AwsFault("StartDBCluster", "InvalidDBClusterStateFault", message="strange", times=5))
    with pytest.raises(errors.ClusterCannotChange) as refused:
        clusters.start(SHOP)
    assert "AWS refuses to start Aurora cluster shop-db although it is stopped" in str(
        refused.value
    )
    assert "(InvalidDBClusterStateFault: strange)" in str(refused.value)


def test_emulator_refuses_a_single_account_setting(monkeypatch):
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")
    with pytest.raises(RuntimeError, match="MOTO_ACCOUNT_ID is set"):
        AwsEmulator().start()


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        pytest.param(
            "InvalidDBInstanceState", "a member DB instance", id="instance-state-wire-code"
        ),
        pytest.param("KMSKeyNotAccessibleFault", "its KMS key is not accessible", id="kms"),
        pytest.param("InvalidDBShardGroupState", "a DB shard group", id="shard-group"),
    ],
)
def test_refusals_name_the_cluster_and_aws_reason(aws, both, clusters, code, reason):
    aws.inject(AwsFault("StartDBCluster", code, message="AWS says no"))
    with pytest.raises(errors.ClusterCannotChange) as refused:
        clusters.start(PAYMENTS)
    text = str(refused.value)
    assert f"AWS refuses to start Aurora cluster payments-db in account {OTHER_ACCOUNT}" in text
    assert reason in text
    assert f"({code}: AWS says no)" in text


def test_never_reaching_the_state_times_out(aws, both, clusters):
    aws.configure(transition_seconds=10**6)
    with pytest.raises(errors.ClusterTimedOut) as timed_out:
        clusters.start(SHOP)
    assert "shop-db is still starting, not available, after 1800s" in str(timed_out.value)
    assert timed_out.value.transient


def test_polling_backs_off(aws, both, clusters, clock):
    aws.configure(transition_seconds=200)
    clusters.start(SHOP)
    assert clock.slept[:4] == [5.0, 7.5, 11.25, 16.875]
    assert max(clock.slept) == 30.0


def test_access_denied_on_assume_role(aws, both, clusters):
    aws.inject(
        AwsFault(
            "AssumeRole",
            "AccessDenied",
            status=403,
            message="not authorized to perform sts:AssumeRole",
        )
    )
    with pytest.raises(errors.AwsAccessDenied) as denied:
        clusters.describe(PAYMENTS)
    assert f"assuming role arn:aws:iam::{OTHER_ACCOUNT}:role/envwake-aurora" in str(denied.value)
    assert "not authorized to perform sts:AssumeRole" in str(denied.value)


def test_throttling_that_persists_is_transient(aws, both, clusters):
    aws.inject(
        AwsFault("DescribeDBClusters", "Throttling", status=400, message="Rate exceeded", times=10)
    )
    with pytest.raises(errors.AwsUnavailable) as throttled:
        clusters.describe(SHOP)
    assert throttled.value.transient


def test_assumed_role_is_cached_per_account_until_near_expiry(aws, both, clusters, sessions, clock):
    clusters.describe(PAYMENTS)
    clusters.describe(PAYMENTS)
    assert sessions.assume_role_calls == 1
    where = {"account": PAYMENTS.aws_account_id, "role": PAYMENTS.role, "region": PAYMENTS.region}
    client = sessions.rds(**where)
    assert sessions.rds(**where) is client  # one client while the credentials last
    clock.now += 3600 - 200  # within the refresh margin of the 1 h credentials
    clusters.describe(PAYMENTS)
    assert sessions.assume_role_calls == 2
    assert sessions.rds(**where) is not client  # made again with the renewed credentials


def test_guard_reports_a_cluster_found_available(aws, both, clusters, recorder):
    clusters.start(SHOP)
    finding = guard_asleep(clusters, SHOP, stop=False)
    assert finding.verdict == "found-available"
    assert "shop-db is available while the environment should be asleep" in finding.message
    assert recorder.of("StopDBCluster") == []


def test_guard_stops_it_when_the_config_says_so(aws, both, clusters):
    clusters.start(PAYMENTS)
    finding = guard_asleep(clusters, PAYMENTS, stop=True)
    assert finding.verdict == "stopped-again"
    assert finding.state.status == "stopping"
    assert f"payments-db (account {OTHER_ACCOUNT}) was available" in finding.message


def test_guard_is_quiet_when_asleep(aws, both, clusters):
    assert guard_asleep(clusters, SHOP, stop=True).verdict == "asleep"
