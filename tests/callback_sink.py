"""A REST client's callback endpoint: records what the bot pushes later.

Runs an aiohttp server on loopback in a background thread, checks each
push's signature, and lets a test wait for the push it expects.
"""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Callable, List, Optional

from aiohttp import web

from bot.channels.rest import SIGNATURE_HEADER, signature
from tests.stack import free_port

SECRET = "callback-test-secret"


class CallbackSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.pushes: List[dict] = []
        self.bad_signatures = 0
        self._loop = asyncio.new_event_loop()
        self._runner: Optional[web.AppRunner] = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/callback"

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get(SIGNATURE_HEADER) != signature(SECRET, body):
            self.bad_signatures += 1
            return web.Response(status=401)
        with self._lock:
            self.pushes.append(await request.json())
        return web.Response(text="ok")

    def start(self) -> "CallbackSink":
        app = web.Application()
        app.router.add_post("/callback", self._receive)
        self._runner = web.AppRunner(app)
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._runner.setup())
            self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
            ready.set()
            self._loop.run_forever()

        threading.Thread(target=serve, daemon=True).start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    def wait_for(self, matches: Callable[[dict], bool], timeout: float = 20) -> dict:
        """The first push (old or new) for which `matches` is true."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = next((push for push in self.pushes if matches(push)), None)
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no matching push within {timeout} s; got {self.pushes}")

    def texts_for(self, recipient: str) -> List[str]:
        with self._lock:
            return [message.get("text") for push in self.pushes if push["recipient_id"] == recipient
                    for message in push["messages"] if message.get("text")]
