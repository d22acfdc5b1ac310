"""``envwake run`` as it runs in production: a process that logs in with the kubeconfig,
answers its liveness probe, handles wakes, and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import kmock
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from envwake.localstack import RESOURCES
from envwake.sandbox.kubernetes import StampingEmulator
from tests.cli.test_wake_commands import write_kubeconfig
from tests.envtest.server import free_port

ROOT = Path(__file__).parents[2]


async def test_the_operator_process_logs_in_with_the_kubeconfig_and_handles_wakes(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    async with StampingEmulator() as emulator, kmock.Server(emulator) as server:
        emulator.resources.load_bundled()
        for name, info in RESOURCES.items():
            emulator.resources[name] = info
        url = str(server.url).rstrip("/")
        kubeconfig = write_kubeconfig(
            tmp_path / "kubeconfig", url, namespace="envwake", token="operator-sa-token"
        )
        port = free_port()
        operator = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "envwake", "run", "--config-dir", str(ROOT / "config"),
            "--liveness", f"http://127.0.0.1:{port}/healthz",
            env={
                **os.environ,
                "KUBECONFIG": str(kubeconfig),
                "ENVWAKE_GITHUB_APP_ID": "1",
                "ENVWAKE_GITHUB_INSTALLATION_ID": "2",
                "ENVWAKE_GITHUB_PRIVATE_KEY": key.decode(),
                "ENVWAKE_GITHUB_API_URL": "http://127.0.0.1:9",
                "ENVWAKE_WORKDIR": str(tmp_path),
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            async with aiohttp.ClientSession() as http:
                for _ in range(300):
                    try:
                        async with http.get(f"http://127.0.0.1:{port}/healthz") as probe:
                            if probe.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError("the liveness probe never answered")
                wake = {
                    "apiVersion": "envwake.dev/v1alpha1",
                    "kind": "EnvironmentWake",
                    "metadata": {"name": "typo", "namespace": "envwake"},
                    "spec": {"environment": "dve"},
                }
                wakes = f"{url}/apis/envwake.dev/v1alpha1/namespaces/envwake/environmentwakes"
                async with http.post(wakes, json=wake) as response:
                    assert response.status == 201
                for _ in range(300):
                    async with http.get(f"{wakes}/typo") as response:
                        status = (await response.json()).get("status") or {}
                    if status.get("phase") == "Failed":
                        break
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError(f"the wake was never handled: {status}")
                assert "unknown environment 'dve'" in status["message"]
                # Found with the soak: the status and the event went out without the
                # kubeconfig's token (the client keeps it as "BearerToken"), as they would
                # from a pod: anonymous, refused by a real API server.
                writes = [
                    r for r in emulator.envwake_requests
                    if r.resource in ("environmentwakes/status", "events")
                ]  # fmt: skip
                assert {r.resource for r in writes} == {"environmentwakes/status", "events"}
                assert {r.token for r in writes} == {"operator-sa-token"}
            operator.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(operator.wait(), 30) == 0
        finally:
            if operator.returncode is None:
                operator.kill()
                await operator.wait()
            assert operator.stdout is not None
            log = (await operator.stdout.read()).decode()
    assert key.decode().splitlines()[1] not in log  # the App key never reaches the log
