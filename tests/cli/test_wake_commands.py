"""``envwake start/stop/status`` against a Kubernetes API (kmock's emulator over HTTP)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import kmock
import pytest

from envwake.cli.main import main
from envwake.configdir import load_config_dir
from envwake.kube import ApiSink
from envwake.localstack import OPERATOR_TOKEN, RESOURCES, LocalStack
from envwake.sandbox.clock import VirtualClock
from envwake.sandbox.kubernetes import StampingEmulator
from tests.deploy.kustomize import build
from tests.deploy.test_deploy import granted
from tests.fakes import QUICK_STACK

ROOT = Path(__file__).parents[2]
CONFIG = str(ROOT / "config")
NOW = "2026-11-26T23:10:00+09:00"  # a Thursday night in Tokyo
WAKES = kmock.resource("envwake.dev", "v1alpha1", "environmentwakes")


def write_kubeconfig(
    path: Path, server: str, namespace: str = "team-a", *, token: str | None = None
) -> Path:
    user = f'{{token: "{token}"}}' if token else "{}"
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "{server}"}}}}]
users: [{{name: u, user: {user}}}]
contexts: [{{name: x, context: {{cluster: c, user: u, namespace: {namespace}}}}}]
current-context: x
"""
    )
    return path


@pytest.fixture
async def cluster(tmp_path):
    async with StampingEmulator() as emulator, kmock.Server(emulator) as server:
        emulator.resources.load_bundled()
        for name, info in RESOURCES.items():
            emulator.resources[name] = info
        url = str(server.url).rstrip("/")
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url)
        yield emulator, kubeconfig, url


def wakes_in(emulator) -> dict[str, dict]:
    return {
        name: obj.raw
        for (resource, _, name), obj in emulator.objects.items()
        if resource == WAKES and not obj.deleted
    }


async def envwake(capsys, kubeconfig: Path, *argv: str) -> tuple[int, str, str]:
    def call() -> int:
        try:
            return main([*argv, "--kubeconfig", str(kubeconfig), "--config-dir", CONFIG])
        except SystemExit as exc:
            return int(exc.code or 0)

    code = await asyncio.to_thread(call)
    out, err = capsys.readouterr()
    return code, out, err


async def test_start_reads_times_of_day_in_the_environments_zone_and_echoes_them(cluster, capsys):
    emulator, kubeconfig, _ = cluster
    code, out, err = await envwake(
        capsys,
        kubeconfig,
        *("start", "dev", "--at", "tomorrow 05:30", "--for", "3h", "--reason", "early release"),
        *("--requested-by", "hanako", "--now", NOW),
    )
    assert code == 0, err
    assert "start: Fri 2026-11-27 05:30 JST (2026-11-26T20:30:00Z)" in out
    assert "stop:  Fri 2026-11-27 08:30 JST (2026-11-26T23:30:00Z)" in out
    [(name, wake)] = wakes_in(emulator).items()
    assert name.startswith("dev-")
    assert wake["metadata"]["namespace"] == "team-a"  # the context's namespace
    assert wake["spec"] == {
        "environment": "dev",
        "startAt": "2026-11-27T05:30:00+09:00",
        "stopAt": "2026-11-27T08:30:00+09:00",
        "reason": "early release",
        "requestedBy": "hanako",
    }
    assert f"created EnvironmentWake team-a/{name}" in out


async def test_a_bare_time_is_the_next_one_and_until_counts_from_the_start(cluster, capsys):
    emulator, kubeconfig, _ = cluster
    code, _out, err = await envwake(
        capsys,
        kubeconfig,
        "start",
        "dev",
        "--at",
        "02:00",
        "--until",
        "01:00",
        "--now",
        NOW,
        "--name",
        "night",
        "-n",
        "team-b",
    )
    assert code == 0, err
    spec = wakes_in(emulator)["night"]["spec"]
    assert spec["startAt"] == "2026-11-27T02:00:00+09:00"
    assert spec["stopAt"] == "2026-11-28T01:00:00+09:00"  # the 01:00 after the start
    assert wakes_in(emulator)["night"]["metadata"]["namespace"] == "team-b"


async def test_without_a_stop_the_default_is_computed_and_said(cluster, capsys):
    emulator, kubeconfig, _ = cluster
    code, out, _ = await envwake(
        capsys, kubeconfig, "start", "dev", "--at", "2026-11-28T10:00:00+09:00", "--now", NOW
    )
    assert code == 0
    assert "stop:  Sat 2026-11-28 22:00 JST (2026-11-28T13:00:00Z) (default: reset-slot)" in out
    [wake] = wakes_in(emulator).values()
    assert "stopAt" not in wake["spec"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--at", "25:00"), "envwake: --at: '25:00' is not a time of day (00:00 to 23:59)"),
        (("--at", "soon"), "envwake: --at: 'soon' is not a time; write now, 02:00"),
        (("--at", "today 22:00"), "envwake: --at: 'today 22:00' has passed (it is 23:10 now)"),
        (("--at", "03:00", "--until", "2026-11-27T02:00:00+09:00"), "is not after the start"),
        (("--for", "3 hours"), "envwake: --for: '3 hours' is not a duration like 30m"),
        (("--at", "2026-11-28T10:00"), "has no UTC offset"),
        (("--for", "1h", "--until", "03:00"), "not allowed with argument"),
    ],
)
async def test_bad_times_are_one_line_and_create_nothing(cluster, capsys, argv, message):
    emulator, kubeconfig, _ = cluster
    code, _out, err = await envwake(capsys, kubeconfig, "start", "dev", *argv, "--now", NOW)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert wakes_in(emulator) == {}


async def test_an_unknown_environment_is_refused_before_the_cluster(cluster, capsys):
    emulator, kubeconfig, _ = cluster
    code, _, err = await envwake(capsys, kubeconfig, "start", "prod", "--now", NOW)
    assert code == 2
    assert err.strip() == f"envwake: unknown environment 'prod' in {CONFIG} (known: dev, stg)"
    assert wakes_in(emulator) == {}


async def test_the_api_servers_refusal_is_one_line(cluster, capsys):
    _emulator, kubeconfig, _ = cluster
    args = ("start", "dev", "--name", "twice", "--now", NOW)
    assert (await envwake(capsys, kubeconfig, *args))[0] == 0
    code, _, err = await envwake(capsys, kubeconfig, *args)
    assert code == 2
    assert err.startswith("envwake: creating an EnvironmentWake in namespace team-a: ")
    assert "the API server answered 409" in err
    assert len(err.strip().splitlines()) == 1, err


async def test_an_unreachable_cluster_is_one_line(tmp_path, capsys):
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", "http://127.0.0.1:9")
    code, _, err = await envwake(capsys, kubeconfig, "status")
    assert code == 2
    assert err.startswith(
        "envwake: listing EnvironmentWakes in namespace team-a: "
        "cannot reach the Kubernetes API at http://127.0.0.1:9"
    )
    assert len(err.strip().splitlines()) == 1, err


async def test_a_missing_kubeconfig_is_one_line(tmp_path, capsys):
    code, _, err = await envwake(capsys, tmp_path / "nope", "status")
    assert code == 2
    assert err.startswith(f"envwake: cannot use the kubeconfig {tmp_path / 'nope'}")
    assert len(err.strip().splitlines()) == 1, err


async def test_stop_ends_started_wakes_and_deletes_future_ones(cluster, capsys):
    emulator, kubeconfig, _ = cluster
    for name, at in (("running", "2026-11-26T20:00:00+09:00"), ("later", "tomorrow 05:30")):
        args = ("start", "dev", "--name", name, "--at", at, "--now", NOW)
        assert (await envwake(capsys, kubeconfig, *args))[0] == 0
    args = ("start", "stg", "--name", "other-env", "--at", "2026-11-26T20:00:00+09:00")
    assert (await envwake(capsys, kubeconfig, *args, "--now", NOW))[0] == 0

    code, out, err = await envwake(capsys, kubeconfig, "stop", "dev", "--now", NOW)
    assert code == 0, err
    wakes = wakes_in(emulator)
    assert wakes["running"]["spec"]["stopAt"] == "2026-11-26T23:10:00+09:00"
    assert "later" not in wakes
    assert "stopAt" not in wakes["other-env"]["spec"]  # another environment: untouched
    assert "team-a/running: stopAt set to Thu 2026-11-26 23:10 JST" in out
    assert "team-a/later: had not started; deleted" in out

    code, out, _ = await envwake(capsys, kubeconfig, "stop", "dev", "--name", "nope")
    assert code == 1
    assert "no active wake 'nope' of dev in namespace team-a" in out


async def test_status_shows_each_wake_with_its_progress(cluster, capsys):
    emulator, kubeconfig, url = cluster
    args = ("start", "dev", "--name", "release", "--at", "2026-11-28T10:00:00+09:00")
    assert (await envwake(capsys, kubeconfig, *args, "--reason", "QA", "--now", NOW))[0] == 0
    status = {
        "phase": "Awake",
        "effectiveStartAt": "2026-11-28T01:00:00Z",
        "effectiveStopAt": "2026-11-28T13:00:00Z",
        "nextAction": {"description": "stop 2026-11-28 22:00"},
        "pullRequests": [{"number": 7, "state": "merged"}],
        "clusters": [{"id": "shop-db", "state": "available"}],
        "services": {"ready": 8, "total": 8},
        "message": "dev is awake: 8/8 services ready",
    }
    await ApiSink(url).write_status(wakes_in(emulator)["release"], status)
    code, out, _ = await envwake(capsys, kubeconfig, "status", "dev")
    assert code == 0
    assert out.splitlines() == [
        "dev: 1 active wake",
        "  team-a/release  Awake  Sat 11-28 10:00 JST -> Sat 11-28 22:00 JST",
        "    next: stop 2026-11-28 22:00; services 8/8 ready",
        "    PRs: #7 merged",
        "    clusters: shop-db available",
        f"    by {wakes_in(emulator)['release']['spec']['requestedBy']}: QA",
        "    dev is awake: 8/8 services ready",
    ]
    code, out, _ = await envwake(capsys, kubeconfig, "status", "--json")
    [data] = json.loads(out)
    assert data["name"] == "release"
    assert data["status"]["phase"] == "Awake"
    code, out, _ = await envwake(capsys, kubeconfig, "status", "stg")
    assert out.strip() == "no EnvironmentWakes of stg in namespace team-a"


def test_works_as_a_kubectl_plugin():
    plugin = Path(sys.executable).parent / "kubectl-envwake"
    assert plugin.exists(), "the kubectl-envwake script is not installed"
    done = subprocess.run([str(plugin), "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert done.stdout.startswith("usage: kubectl envwake")


async def test_start_wait_stop_and_status_drive_the_operator_on_the_local_stack(tmp_path, capsys):
    environments, _ = load_config_dir(Path(CONFIG))
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    clock = VirtualClock(saturday, speed=120)
    stack = LocalStack(environments["dev"], workdir=tmp_path, clock=clock, timing=QUICK_STACK)
    async with stack, stack.operator(finished_ttl=600):
        code, out, err = await envwake(
            capsys,
            stack.kubeconfig,
            "start",
            "dev",
            "--name",
            "qa",
            "--reason",
            "QA",
            "--wait",
            "--now",
            clock.now().isoformat(),
        )
        assert code == 0, out + err
        followed = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
        assert followed[-1] == "Awake", out
        assert "Starting" in followed, out
        progress = [line for line in out.splitlines() if line.startswith("  Starting ")]
        assert len(progress) >= 2, out  # the steps as they happen, not only the outcome

        code, out, _ = await envwake(capsys, stack.kubeconfig, "status")
        assert "  envwake/qa  Awake  Sat 11-28 10:0" in out
        assert "    PRs: #1 merged, #2 merged, #3 merged" in out
        assert "    clusters: shop-db available, payments-db available" in out

        code, out, _ = await envwake(
            capsys, stack.kubeconfig, "stop", "dev", "--now", clock.now().isoformat()
        )
        assert code == 0
        assert "envwake/qa: stopAt set to Sat 2026-11-28" in out
        for _ in range(600):
            if set(stack.cluster_states().values()) == {"stopped"}:
                break
            await asyncio.sleep(0.1)
        assert stack.cluster_states() == {"shop-db": "stopped", "payments-db": "stopped"}
        # the reset at 22:00 finishes the wake; ten minutes later the operator deletes it
        clock.jump(timedelta(hours=12))
        wake = (kmock.resource("envwake.dev", "v1alpha1", "environmentwakes"), "envwake", "qa")
        for _ in range(1200):
            if wake not in stack.kubernetes.objects or stack.kubernetes.objects[wake].deleted:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the finished wake stayed: {stack.kubernetes.objects[wake]}")
    # On the way, the operator's every request was recorded as RBAC sees it: deploy/'s
    # ClusterRole grants exactly those (tests/envtest checks the same on a real server).
    used = {
        (r.group, r.resource, r.verb)
        for r in stack.kubernetes.envwake_requests
        if r.token == OPERATOR_TOKEN and r.resource  # not discovery
    }
    assert used == granted(build(ROOT / "deploy" / "base"), "envwake-operator"), sorted(used)


async def test_a_cluster_without_the_crd_gets_a_hint(tmp_path, capsys):
    async with StampingEmulator() as emulator, kmock.Server(emulator) as server:
        emulator.resources.load_bundled()  # no EnvironmentWake resource here
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", str(server.url).rstrip("/"))
        code, _, err = await envwake(capsys, kubeconfig, "status")
    assert code == 2
    assert "the API server answered 404" in err
    assert err.rstrip().endswith("(is the EnvironmentWake CRD installed? kubectl apply -k crds/)")
