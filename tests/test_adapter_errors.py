"""Every adapter's failure is one of envwake's errors, raised at its boundary: a GitHub that
cannot be reached, an API server that refuses or is gone, a manifest that is not UTF-8.
Nothing of requests, urllib3, aiohttp or GitPython reaches the reconcile loop."""

from __future__ import annotations

import socket

import aiohttp
import kmock
import pytest
from aiohttp import web

from envwake import errors
from envwake.gitops import AppCredentials, GitHubSession, Secret
from envwake.kube import ApiSink, KubernetesClusterView
from envwake.localstack import KubernetesApi
from envwake.sandbox.github import GitHubEmulator
from envwake.sandbox.kubernetes import KubernetesFault, StampingEmulator


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_github_that_cannot_be_reached_is_unavailable():
    with GitHubEmulator() as github:  # (only for a real App key)
        _, key = github.service.create_app()
    credentials = AppCredentials(
        1, 2, Secret(key.decode()), api_url=f"http://127.0.0.1:{closed_port()}"
    )
    with pytest.raises(errors.GitHubUnavailable, match="could not be reached for a token"):
        GitHubSession(credentials, "acme/flux", sleep=lambda s: None).mint()


def test_a_key_that_cannot_sign_is_invalid_credentials():
    credentials = AppCredentials(1, 2, Secret("not a key"), api_url="http://127.0.0.1:9")
    with pytest.raises(errors.CredentialsInvalid, match="cannot sign a JWT"):
        GitHubSession(credentials, "acme/flux", sleep=lambda s: None).mint()


def test_a_github_that_goes_away_mid_session_is_unavailable_not_a_connection_error():
    with GitHubEmulator() as github:
        app_id, key = github.service.create_app()
        github.service.create_repository("acme/flux", files={"README.md": "x\n"})
        installation = github.service.install(app_id, "acme", ["acme/flux"])
        credentials = AppCredentials(app_id, installation, Secret(key.decode()), api_url=github.url)
        session = GitHubSession(credentials, "acme/flux", sleep=lambda s: None, spacing=False)
        session.mint()
        github.stop()  # GitHub is gone between two calls
        with pytest.raises(errors.GitHubUnavailable, match="could not be reached 4 times"):
            session.open_pull("envwake/dev/start-x", "master")
        session.revoke(best_effort=True)


def test_cluster_reads_that_fail_are_unreadable_and_transient():
    view = KubernetesClusterView(
        KubernetesApi(f"http://127.0.0.1:{closed_port()}").operator_client()
    )
    with pytest.raises(errors.ClusterUnreadable) as failed:
        view.deployment_ready("shop", "api")
    assert failed.value.transient
    assert "deployment shop/api" in str(failed.value)


async def test_cluster_reads_the_api_server_refuses_are_unreadable():
    async def refuse(_: web.Request) -> web.Response:
        return web.json_response({"kind": "Status", "code": 500}, status=500)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        import asyncio

        view = KubernetesClusterView(KubernetesApi(f"http://127.0.0.1:{port}").operator_client())
        with pytest.raises(errors.ClusterUnreadable, match="answered 500"):
            await asyncio.to_thread(view.scaled_object_min, "shop", "api")
    finally:
        await runner.cleanup()


async def test_a_status_write_refused_for_good_is_an_envwake_error():
    async with StampingEmulator() as emulator, kmock.Server(emulator) as server:
        emulator.resources.load_bundled()
        emulator.resources["envwake.dev/v1alpha1/environmentwakes"] = kmock.ResourceInfo(
            kind="EnvironmentWake",
            namespaced=True,
            subresources={"status"},
            verbs={"list", "get", "create", "patch"},
        )
        emulator.inject(KubernetesFault("environmentwakes/status", "patch", status=403, times=1))
        sink = ApiSink(str(server.url).rstrip("/"))
        body = {"metadata": {"name": "w", "namespace": "envwake"}}
        with pytest.raises(errors.KubernetesRequestFailed) as refused:
            await sink.write_status(body, {"phase": "Awake"})
        assert refused.value.status == 403
        assert not refused.value.transient
        assert "answered 403 to PATCH" in str(refused.value)


async def test_an_api_server_that_is_gone_is_a_transient_envwake_error():
    sink = ApiSink(f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(errors.KubernetesRequestFailed) as gone:
        await sink.list_wakes([])
    assert gone.value.transient
    assert isinstance(gone.value.__cause__, aiohttp.ClientError)  # raised from, at the boundary


def test_a_manifest_that_is_not_utf8_is_unreadable(tmp_path):
    from envwake.gitops.workingcopy import WorkingCopy

    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "so.yaml").write_bytes(b"kind: ScaledObject\n# caf\xe9\n")
    copy = WorkingCopy(None, tmp_path, Secret("unused"))  # type: ignore[arg-type]
    with pytest.raises(errors.ManifestUnreadable, match=r"apps/so.yaml: not UTF-8 \(byte 24\)"):
        copy.read("apps/so.yaml")
