"""Start, stop and wait for Aurora DB clusters.

Start only from ``stopped``, stop only from ``available``. A cluster already
``starting`` (``stopping``) is waited for, not started (stopped) again; one in another
transitional state is waited out first. ``InvalidDBClusterStateFault`` is retried while
the cluster is transitional; otherwise AWS's reason becomes ``ClusterCannotChange``.
Errors are matched on wire codes (``InvalidDBInstanceState`` has no ``Fault`` suffix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import BotoCoreError, ClientError

from envwake import errors
from envwake.aws.sessions import AwsSessions, Waiting, error_code, translate
from envwake.model.environment import RdsClusterEntry

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

__all__ = ["AuroraClusters", "ClusterState"]

_REFUSALS = 3  # InvalidDBClusterStateFault answers tolerated while the cluster looks ready
# Wire codes of refusals that no amount of waiting fixes.
_CANNOT = {
    "InvalidDBInstanceState": "a member DB instance is not in a state that allows it",
    "InvalidDBShardGroupState": "a DB shard group is not in a state that allows it",
    "KMSKeyNotAccessibleFault": "its KMS key is not accessible",
    "InvalidParameterCombination": "AWS does not allow it for this kind of cluster",
    "InvalidDBClusterCapacityFault": "its capacity does not allow it",
    "VpcEncryptionControlViolationException": "a VPC encryption control forbids it",
}


@dataclass(frozen=True)
class ClusterState:
    cluster_id: str
    account: str | None
    region: str
    status: str


class AuroraClusters:
    def __init__(self, sessions: AwsSessions, *, waiting: Waiting | None = None) -> None:
        self.sessions = sessions
        self.waiting = waiting or Waiting()

    def _client(self, entry: RdsClusterEntry) -> RDSClient:
        return self.sessions.rds(account=entry.aws_account_id, role=entry.role, region=entry.region)

    def _where(self, entry: RdsClusterEntry) -> str:
        account = f" in account {entry.aws_account_id}" if entry.aws_account_id else ""
        return f"Aurora cluster {entry.cluster_id}{account}"

    def describe(self, entry: RdsClusterEntry) -> ClusterState:
        try:
            answer = self._client(entry).describe_db_clusters(DBClusterIdentifier=entry.cluster_id)
        except ClientError as exc:
            if error_code(exc) == "DBClusterNotFoundFault":
                raise errors.ClusterNotFound(f"{self._where(entry)} does not exist") from None
            raise translate(exc, f"describing {self._where(entry)}") from None
        except BotoCoreError as exc:
            raise translate(exc, f"describing {self._where(entry)}") from None
        (cluster,) = answer["DBClusters"]
        return ClusterState(
            entry.cluster_id,
            entry.aws_account_id,
            entry.region or self.sessions.region,
            str(cluster["Status"]),
        )

    def start(self, entry: RdsClusterEntry, *, wait: bool = True) -> ClusterState:
        """Make the cluster ``available`` (start it if it is stopped)."""
        return self._drive(entry, "start", wait=wait)

    def stop(self, entry: RdsClusterEntry, *, wait: bool = True) -> ClusterState:
        """Make the cluster ``stopped`` (stop it if it is available)."""
        return self._drive(entry, "stop", wait=wait)

    def _drive(
        self, entry: RdsClusterEntry, action: Literal["start", "stop"], *, wait: bool
    ) -> ClusterState:
        target, source, moving = (
            ("available", "stopped", "starting")
            if action == "start"
            else ("stopped", "available", "stopping")
        )
        deadline = self.waiting.monotonic() + self.waiting.timeout
        delays = self.waiting.delays()
        refusals = 0
        while True:
            state = self.describe(entry)
            if state.status == target or (state.status == moving and not wait):
                return state
            if state.status == source:
                try:
                    client = self._client(entry)
                    if action == "start":
                        client.start_db_cluster(DBClusterIdentifier=entry.cluster_id)
                    else:
                        client.stop_db_cluster(DBClusterIdentifier=entry.cluster_id)
                except ClientError as exc:
                    code = error_code(exc)
                    message = exc.response.get("Error", {}).get("Message", "")
                    if code in _CANNOT:
                        raise errors.ClusterCannotChange(
                            f"AWS refuses to {action} {self._where(entry)}: {_CANNOT[code]} "
                            f"({code}: {message})"
                        ) from None
                    if code != "InvalidDBClusterStateFault":
                        raise translate(exc, f"{action}ing {self._where(entry)}") from None
                    # Raced with another change: look again, and wait if it is transitional.
                    # A cluster that looks ready yet keeps being refused is not waited on.
                    refusals += 1
                    if refusals >= _REFUSALS:
                        raise errors.ClusterCannotChange(
                            f"AWS refuses to {action} {self._where(entry)} although it is "
                            f"{state.status} ({code}: {message})"
                        ) from None
                except BotoCoreError as exc:
                    raise translate(exc, f"{action}ing {self._where(entry)}") from None
                if not wait:
                    return self.describe(entry)
            elif not _transitional(state.status):
                raise errors.ClusterCannotChange(
                    f"cannot {action} {self._where(entry)}: it is {state.status}, "
                    f"and only a {source} cluster can be {action}ed"
                )
            if self.waiting.monotonic() >= deadline:
                raise errors.ClusterTimedOut(
                    f"{self._where(entry)} is still {state.status}, not {target}, after "
                    f"{self.waiting.timeout:.0f}s"
                )
            self.waiting.sleep(next(delays))


def _transitional(status: str) -> bool:
    """Statuses that end by themselves (AWS lists ~20; these are the ones that do not need
    a person: failed, incompatible-*, inaccessible-* and deleting do)."""
    return not (
        status.startswith(("incompatible-", "inaccessible-"))
        or status in {"failed", "deleting", "cloning-failed", "stopped", "available"}
    )
