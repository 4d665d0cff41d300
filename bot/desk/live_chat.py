"""The live chat on a case page: one websocket per open page of an open case.

The conversation lives in Rasa's tracker (bot.desk.transcripts), so the
server polls it about once a second and pushes the new messages, masked,
and the case's status whenever it changes (a colleague claimed it, it was
transferred or closed, the first-reply timer moved on, Rasa could not be
reached). The agent's replies come back over the same socket and go through
bot.bank.handoff exactly like the reply form's.

Besides being signed in with `escalations.handle`, the handshake must pass
the checks every console websocket does (bot/desk/sockets.py).

To the page: {"type": "line", role, text, at, agent, who, time},
{"type": "status", …the case as the queue shows it, transcript_available, message,
customer_typing},
{"type": "sent", id, text}, {"type": "error", id, message}, {"type": "pong"}.
From the page: hello, {"type": "reply", "id", "text"}, {"type": "typing"} (the
agent is typing, shown to the customer: bot/bank/handoff/live.py),
{"type": "ping"} (keeps the agent counted as online). Close codes: 4000 the case is no longer open,
4403 the CSRF token was missing or wrong; the page reconnects after others.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any, Dict, Tuple

from aiohttp import WSCloseCode, WSMsgType, web

from bot.bank.handoff import escalations as handoff
from bot.bank.handoff import live
from bot.bank.handoff.models import OPEN_ESCALATION_STATUSES
from bot.bank.masking import mask_text
from bot.bank.refusals import Refusal
from bot.desk import sockets
from bot.desk.access import requires
from bot.desk.pages.escalations import (
    CASE,
    HANDLE,
    case_id,
    entry_view,
    live_lines,
    mark_present,
    service,
    snapshot_end,
)
from bot.desk.common import SETTINGS
from bot.desk.sockets import check_upgrade, until_either
from bot.settings import Settings

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

POLL_SECONDS = 1.0
ENDED = 4000
UNAVAILABLE = "对话记录暂时读不到（机器人服务连接不上），正在自动重试；客户发来的消息不会丢失。"


def _since(request: web.Request, default: float) -> float:
    """Messages after this Unix time: the newest one the page already shows."""
    try:
        since = float(request.query["since"])
    except (KeyError, ValueError):
        return default
    return since if math.isfinite(since) and since > 0 else default


class Chat:
    """One agent's socket on one case."""

    def __init__(self, ws: web.WebSocketResponse, escalation_id: int, staff_id: int, conversation_id: str,
                 config: Settings) -> None:
        self.ws, self.escalation_id, self.staff_id = ws, escalation_id, staff_id
        self.conversation_id, self.config = conversation_id, config
        self._sending = asyncio.Lock()   # the feed and the answers share one socket

    async def send(self, kind: str, **data: Any) -> None:
        async with self._sending:
            if not self.ws.closed:
                await self.ws.send_json({"type": kind, **data}, dumps=lambda obj: json.dumps(obj, ensure_ascii=False))

    async def feed(self, since: float) -> Tuple[int, bytes]:
        """New messages and status changes until the case is no longer open;
        then the code to close the socket with."""
        shown: Dict[str, Any] = {}
        try:
            while True:
                case = await service(handoff.detail, self.escalation_id)
                entry = case.entry
                lines, available = await live_lines(self.config, self.escalation_id, self.conversation_id, since)
                for line in lines:
                    await self.send("line", **line)
                    since = max(since, line["at"])
                status = {**entry_view(entry, self.staff_id), "transcript_available": available,
                          "message": "" if available else UNAVAILABLE, "customer_typing": case.customer_typing}
                if status != shown:
                    await self.send("status", **status)
                    shown = status
                if entry.status not in OPEN_ESCALATION_STATUSES:
                    return ENDED, "接待已结束".encode()
                await asyncio.sleep(POLL_SECONDS)
        except Refusal:   # the case is gone
            return ENDED, b"not found"
        except Exception:
            logger.exception("Live chat feed for escalation %s failed", self.escalation_id)
            return WSCloseCode.INTERNAL_ERROR, b"server error"   # the page reconnects

    async def listen(self) -> None:
        async for message in self.ws:
            if message.type == WSMsgType.TEXT:
                await self.answer(message.data)

    async def answer(self, raw: str) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "reply":
            await self.reply(message)
        elif kind == "typing":
            await service(live.agent_typing, self.escalation_id, self.staff_id)
        elif kind == "ping":
            await mark_present(self.staff_id)
            await self.send("pong")
        elif kind != "hello":   # a repeated hello is harmless
            await self.send("error", id=None, message="无法识别的消息，请刷新页面。")

    async def reply(self, message: Dict[str, Any]) -> None:
        said = message.get("text") if isinstance(message.get("text"), str) else ""
        try:
            await service(handoff.reply, self.escalation_id, self.staff_id, said)
        except Refusal as error:
            await self.send("error", id=message.get("id"), message=error.message)
            return
        await mark_present(self.staff_id)
        # Masked like the transcript line that replaces it once delivered.
        await self.send("sent", id=message.get("id"), text=mask_text(said.strip()))


@routes.get(CASE + "/ws")
@requires(HANDLE)
async def live_chat(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse(heartbeat=30)
    check_upgrade(request, ws, "这个地址是接待页面里的在线对话连接，请从人工接待页面打开。")
    case = await service(handoff.detail, case_id(request))   # an unknown case: 404, not a socket
    if not await sockets.prepare(request, ws):
        return ws
    staff_id = request["staff"].id
    await mark_present(staff_id)
    chat = Chat(ws, case.entry.id, staff_id, case.conversation_id, request.app[SETTINGS])
    ended = await until_either(chat.feed(_since(request, snapshot_end(case.transcript))), chat.listen())
    if ended is not None:   # closed here, not by the page: say why
        code, why = ended
        await ws.close(code=code, message=why)
    return ws
