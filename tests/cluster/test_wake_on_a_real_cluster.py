"""``envwake run`` wakes an environment on a real GitOps cluster: real Flux applies its
merges, real KEDA scales the Deployments, kube-controller-manager, kube-scheduler and
kwok make the pods Ready. Nothing here is envwake's own emulator after the merge."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.cluster.cluster import conditions, eventually
from tests.cluster.world import OPERATOR, environment_yaml, later, next_minute, world

SERVICES = ("api", "web")
DESIRED = 2  # the cron trigger's desiredReplicas in the generated manifests


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


async def test_a_wake_on_real_flux_and_keda_while_the_team_merges(real_cluster, tmp_path):
    """Starting → Awake with every pod Ready through KEDA, the stop → Asleep with the
    Deployments at 0 through KEDA, then the reset; and a teammate merges to the base
    branch right after each of envwake's merges, so Flux applies descendants of them."""
    # the reset slot, HH:MM, at least 90 s away: time to set up, wake (about 20 s) and stop
    # on a loaded machine (the tier runs beside the rest of the suite, which takes longer)
    reset = next_minute(datetime.now(UTC) + timedelta(seconds=90))
    async with world(real_cluster, tmp_path, environment_yaml("rc", reset_slot=reset)) as w:
        cluster, api, ns = w.cluster, w.cluster.api, w.namespace
        mark = api.audit_mark()
        github, repository = w.stack.github, w.stack.repository
        merged, theirs, merged_at = [], [], []

        def a_teammate_merges_right_after(method: str, path: str, status: int) -> None:
            if method == "PUT" and path.endswith("/merge") and status == 200:
                merged_at.append(datetime.now(UTC))
                merged.append(w.base_head())
                theirs.append(
                    github.service.push_to_base(
                        repository, {f"docs/note-{len(theirs)}.md": "a note\n"}, "docs: a note"
                    )
                )

        github.after_request = a_teammate_merges_right_after
        w.create_wake("night", {"startAt": now()})
        await asyncio.to_thread(w.wake_until, "night", "Awake", within=120)
        github.after_request = None

        assert len(merged) == 2, merged  # one pull request per dependency wave
        for service in SERVICES:
            assert cluster.ready_pods(ns, service) == DESIRED, cluster.deployment(ns, service)
            scaled = cluster.scaled_object(ns, service)
            assert scaled["spec"]["minReplicaCount"] == DESIRED
            keda = conditions(scaled)
            assert keda["Ready"][0] == "True", keda
            # held up by envwake's minReplicaCount, not by the cron trigger (closed)
            assert keda["Active"][0] != "True", keda
        flux = cluster.kustomization(w.name)
        applied = flux["status"]["lastAppliedRevision"]
        assert applied == f"main@sha1:{theirs[-1]}", (applied, merged, theirs)
        # Flux applied because envwake asked (its interval is 10 minutes): the request it
        # handled last is the one envwake made after its last merge
        assert flux["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"] == merged[-1]
        assert flux["status"]["lastHandledReconcileAt"] == merged[-1]
        reconciled = datetime.fromisoformat(flux["status"]["history"][0]["lastReconciled"])
        assert reconciled - merged_at[-1] < timedelta(seconds=10), (reconciled, merged_at)
        assert w.stack.cluster_states() == {"rc-db": "available"}

        w.patch_wake("night", {"stopAt": later(2)})
        await asyncio.to_thread(
            eventually,
            lambda: [reason for reason, _ in w.events("night")],
            lambda reasons: "Asleep" in reasons,
            within=90,
            what="the wake told Asleep",
        )
        for service in SERVICES:
            deployment = cluster.deployment(ns, service)
            assert deployment["spec"]["replicas"] == 0, deployment
            assert cluster.scaled_object(ns, service)["spec"].get("minReplicaCount", 0) == 0
        assert w.stack.cluster_states() == {"rc-db": "stopped"}

        seconds_to_reset = (reset - datetime.now(UTC)).total_seconds()
        await asyncio.to_thread(w.wake_until, "night", "Completed", within=seconds_to_reset + 60)
        assert w.stack.schedules_as_configured()
        reasons = [reason for reason, _ in w.events("night")]
        assert reasons.index("Awake") < reasons.index("Asleep") < reasons.index("Reset"), reasons

        requests = api.requests_by(OPERATOR, since=mark)
        refused = [
            (r["verb"], r["requestURI"]) for r in requests if r["responseStatus"]["code"] == 403
        ]
        assert refused == []
        # the reconcile requests, made as deploy/'s ServiceAccount and granted
        asked = {
            r["objectRef"]["resource"]
            for r in requests
            if r["verb"] == "patch" and r["responseStatus"]["code"] == 200
            and r["objectRef"].get("apiGroup", "").endswith("toolkit.fluxcd.io")
        }  # fmt: skip
        assert asked == {"gitrepositories", "kustomizations"}

        # the second night on the same stack: woken again, then the wake deleted while
        # awake; envwake puts everything back before its finalizer lets the wake go
        w.create_wake("again", {"startAt": now()})
        await asyncio.to_thread(w.wake_until, "again", "Awake", within=120)
        for service in SERVICES:
            assert cluster.ready_pods(ns, service) == DESIRED, cluster.deployment(ns, service)
        assert w.stack.cluster_states() == {"rc-db": "available"}
        w.delete_wake("again")
        await asyncio.to_thread(
            eventually, lambda: w.wake("again"), lambda wake: wake == {}, within=120,
            what="the deleted wake let go once the environment is back",
        )  # fmt: skip
        for service in SERVICES:
            assert cluster.deployment(ns, service)["spec"]["replicas"] == 0
        assert w.stack.cluster_states() == {"rc-db": "stopped"}
        assert w.stack.schedules_as_configured()


async def test_flux_failing_to_apply_is_told_in_the_wake_status(real_cluster, tmp_path):
    """Someone else merged a manifest Flux cannot build; envwake's merge brings Flux to
    it (the newest head), and the wake's status carries Flux's own message."""
    text = environment_yaml(
        "rcfail", reset_slot=next_minute(datetime.now(UTC) + timedelta(hours=1)), cluster=False
    )
    async with world(real_cluster, tmp_path, text) as w:
        broken = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata: [a, list]\n"
        w.stack.github.service.push_to_base(
            w.stack.repository, {"apps/settings.yaml": broken}, "settings"
        )
        w.create_wake("failing", {"startAt": now()})

        def told() -> str:
            status = w.wake("failing").get("status") or {}
            return " ".join(str(c.get("message", "")) for c in status.get("conditions") or [])

        said = await asyncio.to_thread(
            eventually, told, lambda text: "Flux cannot apply" in text, within=90,
            what="the wake told Flux's failure",
        )  # fmt: skip
        flux = conditions(w.cluster.kustomization(w.name))["Ready"]
        assert flux[0] == "False", flux
        assert flux[2][:80] in said, (flux, said)


OVERLAY = {
    "apps/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
        + "".join(f"  - {s}/scaledobject.yaml\n  - {s}/deployment.yaml\n" for s in SERVICES)
    ),
    "overlays/dev/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "namePrefix: dev-\nnamespace: rcov-dev\nresources:\n  - ../../apps\n"
        "configurations:\n  - scale-target.yaml\n"
    ),
    # kustomize knows no ScaledObject: this makes its scaleTargetRef follow the prefix
    "overlays/dev/scale-target.yaml": (
        "nameReference:\n  - kind: Deployment\n    fieldSpecs:\n"
        "      - kind: ScaledObject\n        path: spec/scaleTargetRef/name\n"
    ),
}


async def test_a_wake_through_a_kustomize_overlay_that_renames_everything(real_cluster, tmp_path):
    """The files say ``rcov-apps/api``; Flux applies the overlay, so the cluster has
    ``rcov-dev/dev-api``. With ``flux.overlay`` saying so, envwake edits the files and
    waits for the objects the cluster really has."""
    text = environment_yaml(
        "rcov",
        reset_slot=next_minute(datetime.now(UTC) + timedelta(hours=1)),
        cluster=False,
        overlay="{namePrefix: dev-, namespace: rcov-dev}",
    )
    async with world(real_cluster, tmp_path, text, files=OVERLAY, path="./overlays/dev") as w:
        cluster = w.cluster
        for service in SERVICES:
            assert cluster.deployment(w.namespace, service) == {}  # nothing under the files' names
        w.create_wake("overlay", {"startAt": now()})
        await asyncio.to_thread(w.wake_until, "overlay", "Awake", within=120)
        for service in SERVICES:
            assert cluster.ready_pods("rcov-dev", f"dev-{service}") == DESIRED
            assert (
                cluster.scaled_object("rcov-dev", f"dev-{service}")["spec"]["minReplicaCount"] == 2
            )


TYPO = """apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: web
  namespace: rckeda-apps
spec:
  scaleTargetRef:
    name: wbe
  minReplicaCount: 0
  maxReplicaCount: 10
  triggers:
    - type: cron
      metadata: {timezone: UTC, start: "0 3 1 1 *", end: "0 4 1 1 *", desiredReplicas: "2"}
"""


async def test_keda_that_cannot_scale_a_service_is_told_in_its_own_words(real_cluster, tmp_path):
    """web's ScaledObject names a Deployment that does not exist: KEDA says so, web's
    own Deployment stays at the API's default of one pod, and the wake does not become
    Awake on that one pod: its status carries KEDA's words."""
    text = environment_yaml(
        "rckeda", reset_slot=next_minute(datetime.now(UTC) + timedelta(hours=1)), cluster=False
    )
    files = {"apps/web/scaledobject.yaml": TYPO}
    async with world(
        real_cluster, tmp_path, text, files=files, settle=False, flags=("--ready-timeout", "10s")
    ) as w:
        w.create_wake("typo", {"startAt": now()})

        def told() -> str:
            status = w.wake("typo").get("status") or {}
            assert status.get("phase") != "Awake", status
            return " ".join(str(c.get("message", "")) for c in status.get("conditions") or [])

        said = await asyncio.to_thread(
            eventually, told, lambda text: "KEDA cannot scale" in text, within=90,
            what="the wake told KEDA's refusal",
        )  # fmt: skip
        keda = conditions(w.cluster.scaled_object(w.namespace, "web"))["Ready"]
        assert keda[0] == "False", keda
        assert f"KEDA cannot scale rckeda-apps/web ({keda[1]}): {keda[2]}" in said, said
        assert w.cluster.ready_pods(w.namespace, "web") == 1  # the API's default, unscaled
