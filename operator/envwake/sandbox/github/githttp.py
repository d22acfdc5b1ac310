"""Git smart HTTP (clone, fetch with partial clone, push), through ``git http-backend``."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os

from aiohttp import web

from envwake.sandbox.github.api import SERVICE
from envwake.sandbox.github.service import HttpError

__all__ = ["git_routes"]

BYTES_SENT = web.AppKey("git_bytes_sent", list)


def _authorize(request: web.Request, full_name: str, write: bool) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise HttpError(
            401, "Authentication required", {"WWW-Authenticate": 'Basic realm="GitHub"'}
        )
    try:
        _, _, token = base64.b64decode(value).decode().partition(":")
    except ValueError:
        raise HttpError(
            401, "Bad credentials", {"WWW-Authenticate": 'Basic realm="GitHub"'}
        ) from None
    service = request.app[SERVICE]
    with service.state.lock:
        service.authorize(service.token(token), full_name, "contents", "write" if write else "read")


async def smart_http(request: web.Request) -> web.StreamResponse:
    owner, repo, rest = (
        request.match_info["owner"],
        request.match_info["repo"],
        request.match_info["rest"],
    )
    full_name = f"{owner}/{repo}"
    write = rest == "git-receive-pack" or request.query.get("service") == "git-receive-pack"
    _authorize(request, full_name, write)
    service = request.app[SERVICE]
    with service.state.lock:
        repository = service.repository(full_name)
        before = repository.store.refs() if write else {}
    env = {
        **os.environ,
        "GIT_PROJECT_ROOT": str(service.state.root / "repos"),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{owner}/{repo}.git/{rest}",
        "QUERY_STRING": request.query_string,
        "REQUEST_METHOD": request.method,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "REMOTE_USER": "x-access-token",
        "REMOTE_ADDR": "127.0.0.1",
        "GIT_PROTOCOL": request.headers.get("Git-Protocol", ""),
    }
    body = await request.read()  # aiohttp has already undone any Content-Encoding: gzip
    env["CONTENT_LENGTH"] = str(len(body))
    process = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    # A GET (the ref advertisement) has no body, and http-backend may be done before
    # we write: a closed pipe then only means it needed no more input.
    with contextlib.suppress(ConnectionResetError, BrokenPipeError):
        if body:
            process.stdin.write(body)
            await process.stdin.drain()
    process.stdin.close()

    status, headers = 200, {}
    while line := (await process.stdout.readline()).decode().rstrip("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        else:
            headers[name.strip()] = value.strip()
    response = web.StreamResponse(status=status, headers=headers)
    await response.prepare(request)
    sent, listening = 0, True
    while chunk := await process.stdout.read(65536):
        if not listening:
            continue  # (drained, so that git can finish)
        try:
            await response.write(chunk)
            sent += len(chunk)
        except ConnectionResetError:  # the client hung up: GitHub serves the next one alike
            listening = False
    await process.wait()
    request.app[BYTES_SENT].append(sent)
    if listening:
        # go-git (Flux's source-controller) closes once it has the pack, before the last
        # chunk: that is a client done, not an error
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
    if write:
        with service.state.lock:
            service.after_push(repository, before)
    return response


def git_routes() -> list[web.RouteDef]:
    return [web.route("*", "/{owner}/{repo}.git/{rest:.+}", smart_http)]
