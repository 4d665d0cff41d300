"""The console's websockets (the live chat, the agents' alerts): who may open one, and running one.

Browsers send cookies with a websocket handshake from any site, and neither
SameSite=Lax nor the CSRF check of form posts covers it. So besides the
access middleware's checks before the upgrade, the handshake must come from
a page of this console (`Origin`), and the session's CSRF token must arrive
as the `csrf` query parameter or as the first message,
`{"type": "hello", "csrf": …}` (which keeps it out of URLs and logs).
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Optional, TypeVar
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from bot.bank.refusals import Refusal
from bot.desk.access import Denied
from bot.desk.security import DeskSession, csrf_matches

logger = logging.getLogger(__name__)
HELLO_SECONDS = 10.0
REFUSED = 4403   # close code: the CSRF token was missing or wrong
T = TypeVar("T")


def same_origin(request: web.Request) -> bool:
    """The socket is opened by a page of this console, not by another site
    riding on the staff member's cookie (cross-site websocket hijacking)."""
    origin = urlsplit(request.headers.get("Origin", ""))
    return origin.scheme in ("http", "https") and origin.netloc.lower() == (request.host or "").lower()


def check_upgrade(request: web.Request, ws: web.WebSocketResponse, what_it_is: str) -> None:
    """Refuse, before the upgrade, what is not a websocket from a page of this console
    (`what_it_is` tells a person who opened the address by hand where to go instead)."""
    if not ws.can_prepare(request).ok:
        raise Refusal("invalid", what_it_is)
    if not same_origin(request):
        raise Denied("连接来源不是本工作台的页面，已拒绝。")
    token = request.query.get("csrf")
    if token is not None and not csrf_matches(request["desk_session"], token):
        raise Denied("页面已过期或来源不明（安全校验未通过）。请刷新页面。")


async def hello(ws: web.WebSocketResponse, session: DeskSession) -> bool:
    """The CSRF token as the first message."""
    try:
        message = await ws.receive(timeout=HELLO_SECONDS)
        data = json.loads(message.data) if message.type == WSMsgType.TEXT else None
    except (asyncio.TimeoutError, ValueError):
        return False
    return isinstance(data, dict) and data.get("type") == "hello" and csrf_matches(session, data.get("csrf"))


async def prepare(request: web.Request, ws: web.WebSocketResponse) -> bool:
    """Upgrade; without a token in the URL wait for the hello, and close with REFUSED if it is wrong."""
    await ws.prepare(request)
    if request.query.get("csrf") is None and not await hello(ws, request["desk_session"]):
        await ws.close(code=REFUSED, message=b"csrf")
        return False
    return True


async def until_either(feed: Awaitable[T], listen: Awaitable[Any]) -> Optional[T]:
    """Run the server's side (`feed`) and the page's (`listen`) until one ends; the
    feed's result if it was the one that ended (then the server closes the socket)."""
    tasks = asyncio.ensure_future(feed), asyncio.ensure_future(listen)
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)   # every task's end is collected
    fed, failure = tasks[0], next((o for o in outcomes if isinstance(o, Exception)), None)
    if failure is not None:   # e.g. a send as the page went away
        logger.info("console websocket ended: %r", failure)
    return fed.result() if fed.done() and not fed.cancelled() and fed.exception() is None else None
