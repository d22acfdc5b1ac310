"""The Kubernetes emulator of the local stack over a long life."""

from __future__ import annotations

import aiohttp
import kmock

from envwake.localstack import RESOURCES
from envwake.sandbox.kubernetes import StampingEmulator


async def test_matching_a_request_does_not_scan_every_request_ever_served():
    """Found by the soak: kmock finds the reaction for each request by scanning every
    request it ever served, so a stack that lives a month slowed down without end (77% of
    the soak's time after one virtual day)."""
    async with StampingEmulator() as emulator, kmock.Server(emulator) as server:
        emulator.resources.load_bundled()
        for name, info in RESOURCES.items():
            emulator.resources[name] = info
        url = f"{str(server.url).rstrip('/')}/apis/keda.sh/v1alpha1/namespaces/shop/scaledobjects"
        async with aiohttp.ClientSession() as http:
            body = {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
                    "metadata": {"name": "api"}, "spec": {"minReplicaCount": 0}}  # fmt: skip
            async with http.post(url, json=body) as created:
                assert created.status == 201
            for _ in range(300):
                async with http.get(f"{url}/api") as answer:
                    assert answer.status == 200
                    assert (await answer.json())["spec"]["minReplicaCount"] == 0
        assert len(emulator.envwake_requests) == 301  # who asked for what is all kept
        assert len(emulator._requests) <= 1  # what kmock scans: the requests in flight
