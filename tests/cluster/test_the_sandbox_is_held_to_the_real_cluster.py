"""What real Flux and the controllers write where envwake reads, against the golden file
the sandbox is held to (tests/sandbox/real_shapes.py). When a pin changes and this
fails, look at the difference, make the sandbox write the same, and refresh the golden:
ENVWAKE_WRITE_GOLDEN=1 pytest tests/cluster/test_the_sandbox_is_held_to_the_real_cluster.py
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

from tests.cluster.cluster import FLUX_NAMESPACE, conditions, eventually
from tests.cluster.world import World, environment_yaml, next_minute, world
from tests.sandbox.real_shapes import GOLDEN, deployment_shape, kustomization_shape, load_golden

BROKEN = "data: [unclosed\n"


def ask_flux(w: World, token: str) -> None:
    """What envwake does after a merge (and `flux reconcile ks --with-source`)."""
    for group, plural in (
        ("source.toolkit.fluxcd.io", "gitrepositories"),
        ("kustomize.toolkit.fluxcd.io", "kustomizations"),
    ):
        code, answer = w.cluster.api.request(
            "PATCH",
            f"/apis/{group}/v1/namespaces/{FLUX_NAMESPACE}/{plural}/{w.name}",
            {"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}},
            content_type="application/merge-patch+json",
        )
        assert code == 200, answer


async def test_real_flux_and_the_controllers_write_the_golden_shapes(real_cluster, tmp_path):
    text = environment_yaml(
        "shapes", reset_slot=next_minute(datetime.now(UTC) + timedelta(hours=1)), cluster=False
    )
    seen = {}
    async with world(real_cluster, tmp_path, text, operate=False) as w:
        cluster, service = w.cluster, w.stack.github.service
        # KEDA set spec.replicas to 0 (the world waits for that); the status follows once
        # the pods are gone: then it says no replicas, as 0 or by leaving them out
        settled = eventually(
            lambda: cluster.deployment(w.namespace, "api").get("status") or {},
            lambda status: not status.get("replicas") and not status.get("readyReplicas"),
            within=30,
            what="the Deployment's status at 0",
        )
        seen["deployment at 0"] = deployment_shape(settled)
        head = service.push_to_base(w.stack.repository, {"docs/a.md": "a\n"}, "docs")
        ask_flux(w, head)
        applied = eventually(
            lambda: cluster.kustomization(w.name).get("status") or {},
            lambda s: s.get("lastAppliedRevision", "").endswith(head),
            within=30,
            what="Flux applied the commit it was asked for",
        )
        seen["applied"] = kustomization_shape(applied, token=head)
        broken = service.push_to_base(w.stack.repository, {"apps/x.yaml": BROKEN}, "broken")
        ask_flux(w, "asked-again")
        failed = eventually(
            lambda: cluster.kustomization(w.name),
            lambda k: (
                k.get("status", {}).get("lastAttemptedRevision", "").endswith(broken)
                and conditions(k)["Ready"][0] == "False"
            ),
            within=30,
            what="Flux failed on the broken manifest",
        )
        seen["build failed"] = kustomization_shape(failed["status"], token="asked-again")
    if os.environ.get("ENVWAKE_WRITE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(seen, indent=2, ensure_ascii=False) + "\n")
    assert seen == load_golden()
