"""EventBridge Scheduler hold and restore, as a full read-modify-write.

moto ignores some UpdateSchedule fields (ActionAfterCompletion, an omitted State), so
the tests assert the exact payloads sent, not only what moto gives back.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from envwake import errors
from envwake.aws.schedules import update_fields
from envwake.sandbox.aws import AwsFault

from .conftest import OTHER_ACCOUNT, PAYMENTS, SHOP

RICH = {
    "Description": "Stop payments-db at midnight (team payments)",
    "StartDate": datetime(2030, 1, 1, tzinfo=UTC),
    "EndDate": datetime(2031, 1, 1, tzinfo=UTC),
    "KmsKeyArn": f"arn:aws:kms:ap-northeast-1:{OTHER_ACCOUNT}:key/1234abcd-12ab-34cd-56ef",
    "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
    "ActionAfterCompletion": "NONE",
    "State": "ENABLED",
}


@pytest.fixture
def seeded(aws):
    for cluster, account in ((SHOP, None), (PAYMENTS, OTHER_ACCOUNT)):
        aws.create_schedule(
            cluster.start_schedule_name,
            cluster.origin_start_time,
            cluster_id=cluster.cluster_id,
            account=account,
            action="startDBCluster",
        )
    aws.create_schedule(SHOP.stop_schedule_name, SHOP.origin_stop_time, cluster_id="shop-db")
    aws.create_schedule(
        PAYMENTS.stop_schedule_name,
        PAYMENTS.origin_stop_time,
        cluster_id="payments-db",
        account=OTHER_ACCOUNT,
        **RICH,
    )


def test_hold_disables_the_stop_schedule_sending_back_every_field(seeded, schedules, recorder):
    before = schedules.read(PAYMENTS, PAYMENTS.stop_schedule_name)
    change = schedules.hold(PAYMENTS)
    assert change.what == "held"

    (sent,) = recorder.of("UpdateSchedule")
    payload = {k: v for k, v in sent.items() if k != "ClientToken"}  # botocore's idempotency token
    expected = {k: v for k, v in before.items() if k in update_fields()}
    expected["State"] = "DISABLED"
    assert payload == {**expected, "Name": "payments-db-stop", "GroupName": "default"}
    # Every field of the definition is sent back, the target with its role, input and retries.
    for key in (
        "Target",
        "FlexibleTimeWindow",
        "ScheduleExpressionTimezone",
        "StartDate",
        "EndDate",
        "KmsKeyArn",
        "Description",
        "ActionAfterCompletion",
        "ScheduleExpression",
    ):
        assert key in payload, key
    assert payload["Target"]["RoleArn"] == f"arn:aws:iam::{OTHER_ACCOUNT}:role/scheduler-aurora"
    assert payload["Target"]["Input"] == '{"DbClusterIdentifier": "payments-db"}'
    assert payload["Target"]["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": 3600,
        "MaximumRetryAttempts": 3,
    }
    assert payload["ActionAfterCompletion"] == "NONE"
    assert payload["ScheduleExpression"] == "cron(0 0 ? * TUE-SAT *)"

    after = schedules.read(PAYMENTS, PAYMENTS.stop_schedule_name)
    assert after["State"] == "DISABLED"
    assert after["Description"] == RICH["Description"]
    assert after["FlexibleTimeWindow"] == RICH["FlexibleTimeWindow"]


def test_hold_leaves_the_start_schedule_alone(seeded, schedules, recorder):
    schedules.hold(SHOP)
    assert [p["Name"] for p in recorder.of("UpdateSchedule")] == ["shop-db-stop"]
    assert schedules.read(SHOP, "shop-db-start")["State"] == "ENABLED"


def test_hold_and_restore_round_trip(seeded, schedules, recorder):
    original = {
        name: schedules.read(PAYMENTS, name) for name in ("payments-db-start", "payments-db-stop")
    }
    schedules.hold(PAYMENTS)
    changes = schedules.restore(PAYMENTS)
    assert [(c.name, c.what) for c in changes] == [
        ("payments-db-start", "unchanged"),
        ("payments-db-stop", "restored"),
    ]
    restored = recorder.of("UpdateSchedule")[-1]
    assert restored["State"] == "ENABLED"
    assert restored["ScheduleExpression"] == PAYMENTS.origin_stop_time
    for name, before in original.items():
        after = schedules.read(PAYMENTS, name)
        keep = [k for k in before if k not in ("LastModificationDate", "ResponseMetadata")]
        assert {k: after.get(k) for k in keep} == {k: before[k] for k in keep}


def test_restore_puts_a_changed_expression_back(seeded, schedules, recorder, aws):
    client = aws.session().client("scheduler", endpoint_url=aws.url)
    current = client.get_schedule(Name="shop-db-start")
    client.update_schedule(
        Name="shop-db-start",
        ScheduleExpression="cron(0 5 ? * MON-FRI *)",
        FlexibleTimeWindow=current["FlexibleTimeWindow"],
        Target=current["Target"],
        ScheduleExpressionTimezone="Asia/Tokyo",
        State="DISABLED",
    )
    changes = schedules.restore(SHOP)
    assert [c.what for c in changes] == ["restored", "unchanged"]
    after = schedules.read(SHOP, "shop-db-start")
    assert (after["ScheduleExpression"], after["State"]) == (SHOP.origin_start_time, "ENABLED")
    assert after["ScheduleExpressionTimezone"] == "Asia/Tokyo"


def test_restoring_what_is_already_original_makes_no_call(seeded, schedules, recorder):
    assert [c.what for c in schedules.restore(SHOP)] == ["unchanged", "unchanged"]
    assert recorder.of("UpdateSchedule") == []


def test_holding_twice_makes_one_call(seeded, schedules, recorder):
    schedules.hold(SHOP)
    assert schedules.hold(SHOP).what == "unchanged"
    assert len(recorder.of("UpdateSchedule")) == 1


def test_missing_schedule_is_named(aws, schedules):
    with pytest.raises(errors.ScheduleNotFound) as missing:
        schedules.hold(PAYMENTS)
    assert str(missing.value) == (
        f"EventBridge schedule default/payments-db-stop in account {OTHER_ACCOUNT} "
        "(of cluster payments-db) does not exist"
    )


def test_update_refused_is_reported(seeded, schedules, aws):
    aws.inject(
        AwsFault(
            "UpdateSchedule",
            "AccessDeniedException",
            status=403,
            message="no scheduler:UpdateSchedule",
        )
    )
    with pytest.raises(
        errors.AwsAccessDenied, match="updating schedule shop-db-stop of cluster shop-db"
    ):
        schedules.hold(SHOP)


def test_accounts_see_only_their_own_schedules(seeded, schedules):
    wrong = SHOP.model_copy(update={"stop_schedule_name": "payments-db-stop"})
    with pytest.raises(errors.ScheduleNotFound):
        schedules.hold(wrong)
