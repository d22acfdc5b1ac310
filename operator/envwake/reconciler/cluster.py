"""What the reconciler reads from the Kubernetes cluster.

A ScaledObject without ``minReplicaCount`` has KEDA's default, 0; one that does not
exist (not applied yet) is None.
"""

from __future__ import annotations

from typing import Protocol

from envwake.model.cluster import Condition, FluxStatus

__all__ = ["ClusterView"]


class ClusterView(Protocol):
    """What the Kubernetes cluster applied: ScaledObjects, Deployments, Flux."""

    def scaled_object_min(self, namespace: str, name: str) -> int | None:
        """``spec.minReplicaCount`` (absent: 0, KEDA's default); None: no such object."""
        ...

    def scaled_object_ready(self, namespace: str, name: str) -> Condition | None:
        """KEDA's ``Ready`` condition of the ScaledObject (False: KEDA cannot scale it,
        say its scale target is missing); None before KEDA wrote one, or no such object."""
        ...

    def deployment_ready(self, namespace: str, name: str) -> tuple[int, int]:
        """(ready replicas, wanted replicas); (0, 0) for no such Deployment."""
        ...

    def kustomization(self, namespace: str, name: str) -> FluxStatus | None: ...

    def request_reconcile(self, namespace: str, name: str, token: str) -> None:
        """Ask Flux to fetch its source and apply the Kustomization now rather than at its
        interval (``reconcile.fluxcd.io/requestedAt: token``, as ``flux reconcile
        kustomization --with-source`` does). Best effort: Flux's interval still applies
        what was merged if the request cannot be made."""
        ...
