"""A small reverse proxy for running several Rasa and action servers.

Rasa keeps no conversation state in the server process: the tracker lives in
the SQL tracker store and the per-conversation lock in Redis, so any Rasa
server can take any message. That makes plain round-robin enough, and a
proxy of a hundred lines (instead of nginx to install and configure) keeps
`scripts/run-cluster` self-contained on one machine.

Two listeners, each round-robin over its own servers:

* the front port, for clients: `/webhooks/*`, `/conversations/*`,
  `/model/*` and `/status` go to the Rasa servers. `/socket.io` (the web
  widget) is pinned to one Rasa server per client address, because a
  socket.io session that falls back to long-polling is held by the server
  that opened it; websocket upgrades are passed through;
* the actions port, which every Rasa server uses as its `action_endpoint`:
  every path goes to the action servers.

Every answer carries `X-Upstream: host:port` of the server that gave it. A
server that refuses the connection is skipped for that request (the request
never reached it, so sending it elsewhere cannot do it twice).

    python -m bot.ops.proxy --port 5005 --rasa http://127.0.0.1:5006 --rasa http://127.0.0.1:5007 \\
        --actions-port 5055 --action http://127.0.0.1:5056 --action http://127.0.0.1:5057
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import logging
from typing import Iterable, List, Sequence, Tuple

from aiohttp import ClientConnectorError, ClientSession, ClientTimeout, WSMsgType, web
from multidict import CIMultiDict
from yarl import URL

logger = logging.getLogger(__name__)

RASA_PREFIXES = ("/webhooks/", "/conversations/", "/model/", "/status")
SOCKET_IO = "/socket.io"
# Connection-level headers belong to one hop, not to the request or answer;
# bodies pass through as they are (not decompressed), with their encoding.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}
# A Rasa turn that waits on a slow action server still ends well within this.
TIMEOUT = ClientTimeout(total=120, sock_connect=5)


class Upstreams:
    """The servers of one pool, handed out in turn."""

    def __init__(self, urls: Sequence[str]) -> None:
        if not urls:
            raise ValueError("a pool needs at least one server")
        self.urls = [URL(url) for url in urls]
        self._turn = itertools.cycle(range(len(self.urls)))

    def round_robin(self) -> List[URL]:
        """All servers, starting with the next one in turn (the rest are fallbacks)."""
        start = next(self._turn)
        return self.urls[start:] + self.urls[:start]

    def pinned(self, key: str) -> List[URL]:
        """All servers, starting with the one `key` always maps to."""
        start = int.from_bytes(hashlib.sha1(key.encode()).digest()[:4], "big") % len(self.urls)
        return self.urls[start:] + self.urls[:start]


def name_of(url: URL) -> str:
    return f"{url.host}:{url.port}"


def _headers(headers: Iterable[Tuple[str, str]], drop: Iterable[str] = ()) -> CIMultiDict:
    skip = HOP_BY_HOP | set(drop)
    return CIMultiDict((key, value) for key, value in headers if key.lower() not in skip)


def _is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


async def _relay_websocket(request: web.Request, client: ClientSession, server: URL) -> web.WebSocketResponse:
    """Pipe one websocket both ways between the client and `server`."""
    target = server.with_scheme("ws").join(request.rel_url)
    # aiohttp makes its own handshake headers for the upstream connection.
    handshake = ("sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions")
    async with client.ws_connect(target, headers=_headers(request.headers.items(), handshake)) as upstream:
        downstream = web.WebSocketResponse()
        downstream.headers["X-Upstream"] = name_of(server)
        await downstream.prepare(request)

        async def pipe(source, sink) -> None:
            async for message in source:
                if message.type == WSMsgType.TEXT:
                    await sink.send_str(message.data)
                elif message.type == WSMsgType.BINARY:
                    await sink.send_bytes(message.data)
            await sink.close()

        await asyncio.gather(pipe(downstream, upstream), pipe(upstream, downstream), return_exceptions=True)
        return downstream


async def _relay_http(request: web.Request, client: ClientSession, server: URL,
                      body: bytes) -> web.StreamResponse:
    """Send the request to `server` and stream its answer back (REST `?stream=true` too)."""
    async with client.request(request.method, server.join(request.rel_url), data=body,
                              headers=_headers(request.headers.items()), allow_redirects=False) as answer:
        response = web.StreamResponse(status=answer.status, reason=answer.reason,
                                      headers=_headers(answer.headers.items()))
        response.headers["X-Upstream"] = name_of(server)
        if answer.content_length is not None:
            response.content_length = answer.content_length
        await response.prepare(request)
        async for chunk in answer.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
        return response


def make_app(pool: Upstreams, rasa_front: bool) -> web.Application:
    """A proxy over `pool`; the front (Rasa) one only serves Rasa's paths."""

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path
        if rasa_front and not (path.startswith(RASA_PREFIXES) or path.startswith(SOCKET_IO)):
            raise web.HTTPNotFound(text="not proxied\n")
        if path.startswith(SOCKET_IO):
            servers = pool.pinned(request.remote or "")
        else:
            servers = pool.round_robin()
        body = b"" if _is_websocket(request) else await request.read()
        for server in servers:
            try:
                if _is_websocket(request):
                    return await _relay_websocket(request, request.app["client"], server)
                return await _relay_http(request, request.app["client"], server, body)
            except ClientConnectorError as error:
                logger.warning("%s refused %s: %s", name_of(server), path, error)
        raise web.HTTPBadGateway(text="no server available\n")

    async def client_context(app: web.Application):
        app["client"] = ClientSession(timeout=TIMEOUT, auto_decompress=False)
        yield
        await app["client"].close()

    app = web.Application(client_max_size=1024 ** 2)
    app.cleanup_ctx.append(client_context)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def serve(host: str, port: int, rasa: Sequence[str], actions_port: int, actions: Sequence[str]) -> None:
    """Run both listeners until cancelled."""
    runners = []
    for listen_port, app in ((port, make_app(Upstreams(rasa), True)),
                             (actions_port, make_app(Upstreams(actions), False))):
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, listen_port).start()
        runners.append(runner)
    logger.info("proxy on %s:%d -> %s; actions on %s:%d -> %s", host, port, rasa, host, actions_port, actions)
    try:
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.cleanup()


def main(argv: Sequence[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="front port (Rasa)")
    parser.add_argument("--rasa", action="append", required=True, help="a Rasa server's base URL (repeat)")
    parser.add_argument("--actions-port", type=int, required=True)
    parser.add_argument("--action", action="append", required=True, help="an action server's base URL (repeat)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(serve(args.host, args.port, args.rasa, args.actions_port, args.action))


if __name__ == "__main__":
    main()
