"""An aiohttp application served on a port from a background thread (the emulators)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from aiohttp import web

__all__ = ["BackgroundServer"]


class BackgroundServer:
    """``start()`` serves ``build()``'s application on ``bind`` (port chosen by the OS);
    ``url`` then names it by ``advertise``; ``stop()`` ends it."""

    def __init__(
        self, name: str, build: Callable[[], web.Application], *, bind: str, advertise: str
    ) -> None:
        self.name = name
        self.build = build
        self.bind = bind
        self.advertise = advertise
        self.url = ""
        self.on_url: Callable[[str], None] = lambda url: None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"the {self.name} did not start")

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self.build(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.bind, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{self.advertise}:{port}"
        self.on_url(self.url)

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(10)
        loop.close()
        self._loop = None

    def call(self, coroutine: Callable[[], object]) -> None:
        """Run ``coroutine()`` on the server's loop (for pushing to open websockets)."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(coroutine(), self._loop).result(10)  # type: ignore[arg-type]
