"""Hold and restore a cluster's EventBridge Scheduler schedules.

UpdateSchedule replaces the whole definition: whatever it is not sent is reset (an
omitted description becomes empty, the time zone UTC, the state ENABLED...). So every
update reads the schedule first and sends back every field GetSchedule returned that
UpdateSchedule accepts (the list comes from botocore's own model), changing only the
expression and the state. A schedule already as wanted gets no call at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

from envwake import errors
from envwake.aws.sessions import AwsSessions, error_code, translate
from envwake.model.environment import RdsClusterEntry

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

__all__ = ["ScheduleChange", "Schedules", "update_fields"]


def update_fields() -> frozenset[str]:
    """The fields UpdateSchedule accepts, less the idempotency token."""
    model = botocore.session.get_session().get_service_model("scheduler")
    shape = model.operation_model("UpdateSchedule").input_shape
    assert shape is not None
    return frozenset(shape.members) - {"ClientToken"}


_FIELDS = update_fields()


@dataclass(frozen=True)
class ScheduleChange:
    name: str
    what: Literal["held", "restored", "unchanged"]


class Schedules:
    def __init__(self, sessions: AwsSessions, *, group: str = "default") -> None:
        self.sessions = sessions
        self.group = group

    def _client(self, entry: RdsClusterEntry) -> EventBridgeSchedulerClient:
        return self.sessions.scheduler(
            account=entry.aws_account_id, role=entry.role, region=entry.region
        )

    def hold(self, entry: RdsClusterEntry) -> ScheduleChange:
        """Disable the cluster's stop schedule so it cannot stop the cluster under a wake."""
        return self._update(
            entry, entry.stop_schedule_name, expression=None, state="DISABLED", outcome="held"
        )

    def restore(self, entry: RdsClusterEntry) -> list[ScheduleChange]:
        """Both schedules back to the config's original expressions, ENABLED."""
        return [
            self._update(
                entry,
                entry.start_schedule_name,
                expression=entry.origin_start_time,
                state="ENABLED",
                outcome="restored",
            ),
            self._update(
                entry,
                entry.stop_schedule_name,
                expression=entry.origin_stop_time,
                state="ENABLED",
                outcome="restored",
            ),
        ]

    def read(self, entry: RdsClusterEntry, name: str) -> dict[str, Any]:
        try:
            return dict(self._client(entry).get_schedule(Name=name, GroupName=self.group))
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                account = f" in account {entry.aws_account_id}" if entry.aws_account_id else ""
                raise errors.ScheduleNotFound(
                    f"EventBridge schedule {self.group}/{name}{account} (of cluster "
                    f"{entry.cluster_id}) does not exist"
                ) from None
            raise translate(exc, f"reading schedule {name}") from None
        except BotoCoreError as exc:
            raise translate(exc, f"reading schedule {name}") from None

    def _update(
        self,
        entry: RdsClusterEntry,
        name: str,
        *,
        expression: str | None,
        state: str,
        outcome: Literal["held", "restored"],
    ) -> ScheduleChange:
        current = self.read(entry, name)
        wanted_expression = expression or current["ScheduleExpression"]
        if current.get("State") == state and current["ScheduleExpression"] == wanted_expression:
            return ScheduleChange(name, "unchanged")
        payload = {
            key: value for key, value in current.items() if key in _FIELDS and value is not None
        }
        payload.update(
            Name=name, GroupName=self.group, ScheduleExpression=wanted_expression, State=state
        )
        try:
            self._client(entry).update_schedule(**payload)
        except (ClientError, BotoCoreError) as exc:
            raise translate(
                exc, f"updating schedule {name} of cluster {entry.cluster_id}"
            ) from None
        return ScheduleChange(name, outcome)
