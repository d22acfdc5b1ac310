"""``kubectl get environmentwakes`` on the local stack shows what a real API server shows:
the CRD's printer columns, and an Age told by the stack's clock (never ``<invalid>``).
The real kube-apiserver is the oracle for the Table; kubectl itself, where installed."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import kmock
import pytest
import yaml

from envwake.sandbox.kubernetes import StampingEmulator
from envwake.sandbox.tables import ENVIRONMENT_WAKE_COLUMNS, human_duration

ROOT = Path(__file__).parents[2]
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
WAKES = "/apis/envwake.dev/v1alpha1/namespaces/envwake/environmentwakes"
STATUS = {
    "phase": "Awake",
    "effectiveStartAt": "2026-11-28T10:00:00+09:00",
    "effectiveStopAt": "2026-11-28T22:00:00+09:00",
    "nextAction": {"action": "stop", "at": "2026-11-28T22:00:00+09:00",
                   "description": "stop 2026-11-28 22:00"},
    "conditions": [{"type": "Ready", "status": "True", "reason": "Awake", "message": "up",
                    "lastTransitionTime": "2026-11-28T01:00:00Z"}],
}  # fmt: skip


def wake(name: str) -> dict:
    return {
        "apiVersion": "envwake.dev/v1alpha1",
        "kind": "EnvironmentWake",
        "metadata": {"name": name, "namespace": "envwake"},
        "spec": {"environment": "dev"},
    }


def test_the_columns_are_the_crds():
    crd = yaml.safe_load((ROOT / "crds" / "environmentwake.yaml").read_text())
    assert crd["spec"]["versions"][0]["additionalPrinterColumns"] == ENVIRONMENT_WAKE_COLUMNS


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(-5, "<invalid>"), (-1, "0s"), (59, "59s"), (119, "119s"), (150, "2m30s"), (600, "10m"),
     (3 * 3600 + 60, "3h1m"), (8 * 3600, "8h"), (50 * 3600, "2d2h"), (9 * 86400, "9d"),
     (800 * 86400, "2y70d"), (3000 * 86400, "8y")],
)  # fmt: skip
def test_age_is_kubernetes_human_duration(seconds, shown):
    # (hand-computed from apimachinery's HumanDuration, which the API server uses for Age)
    assert human_duration(seconds) == shown


async def test_the_table_is_the_real_api_servers(real_api_server):
    server = real_api_server
    server.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "envwake"}})
    server.request("DELETE", f"{WAKES}/columns")
    code, created = server.request("POST", WAKES, wake("columns"))
    assert code == 201, created
    code, _ = server.request(
        "PATCH",
        f"{WAKES}/columns/status",
        {"status": STATUS},
        content_type="application/merge-patch+json",
    )
    assert code == 200
    code, real = server.request("GET", WAKES, accept=TABLE)
    assert code == 200, real
    server.request("DELETE", f"{WAKES}/columns")

    emulator_clock = datetime(2026, 11, 28, 1, 5, tzinfo=UTC)
    async with StampingEmulator() as emulator, kmock.Server(emulator) as kube:
        emulator.resources.load_bundled()
        emulator.resources["envwake.dev/v1alpha1/environmentwakes"] = kmock.ResourceInfo(
            kind="EnvironmentWake", namespaced=True, subresources={"status"},
            verbs={"list", "get", "create", "patch"},
        )  # fmt: skip
        emulator.envwake_columns["envwake.dev/v1alpha1/environmentwakes"] = ENVIRONMENT_WAKE_COLUMNS
        emulator.envwake_clock = lambda: emulator_clock - timedelta(minutes=5)  # creation
        url = str(kube.url).rstrip("/")
        import aiohttp

        async with aiohttp.ClientSession() as http:
            async with http.post(f"{url}{WAKES}", json={**wake("columns"), "status": STATUS}):
                pass
            emulator.envwake_clock = lambda: emulator_clock  # five minutes later
            async with http.get(f"{url}{WAKES}", headers={"Accept": TABLE}) as response:
                ours = await response.json()
            if shutil.which("kubectl"):  # (in this loop's time: the emulator serves it)
                config = _kubeconfig(Path(server.root) / "columns.kubeconfig", url)
                process = await asyncio.create_subprocess_exec(
                    "kubectl", "--kubeconfig", str(config), "get", "environmentwakes",
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                )  # fmt: skip
                out, err = await asyncio.wait_for(process.communicate(), 60)
                assert process.returncode == 0, err.decode()
                shown = out.decode()

    assert ours["kind"] == real["kind"] == "Table"
    assert ours["columnDefinitions"] == real["columnDefinitions"]
    ((real_row,), (our_row,)) = real["rows"], ours["rows"]
    assert our_row["cells"][:-1] == real_row["cells"][:-1]  # all but Age
    assert our_row["cells"][-1] == "5m"  # by the emulator's clock
    assert our_row["object"]["kind"] == real_row["object"]["kind"] == "PartialObjectMetadata"
    if shutil.which("kubectl"):
        header, line = shown.splitlines()
        assert header.split() == ["NAME", "ENV", "PHASE", "START", "STOP", "NEXT", "AGE"]
        assert line.split() == [
            "columns", "dev", "Awake", "2026-11-28T10:00:00+09:00", "2026-11-28T22:00:00+09:00",
            "stop", "2026-11-28", "22:00", "5m",
        ]  # fmt: skip


def _kubeconfig(path: Path, url: str) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: e, cluster: {{server: '{url}'}}}}]\n"
        "users: [{name: e, user: {}}]\n"
        "contexts: [{name: e, context: {cluster: e, user: e, namespace: envwake}}]\n"
        "current-context: e\n"
    )
    return path
