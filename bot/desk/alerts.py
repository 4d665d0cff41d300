"""Alerts for agents on duty, on whichever console page they have open.

Every page an agent or admin opens connects one websocket here
(static/alerts.js). Every ALERT_SECONDS the server compares the desk with
what it last saw for that person (bot.bank.handoff.live): a case that joined
the queue, a message from a customer of theirs, and, for a duty supervisor
(`escalations.supervise`), an urgent case past its first-reply target. Each
reaches the page as {"type": "alert", kind, id, reference, urgent, title,
body, url}; the page shows it, rings, and raises a desktop notice if the
agent allowed them. The page's pings keep the agent counted as on duty.

Marking urgent cases for the supervisors is the console server's job
(`watch_overdue`, started by `python -m bot.desk`): it runs every
OVERDUE_CHECK_SECONDS, and each case is marked once however many consoles run.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, AsyncIterator, Dict

from aiohttp import WSMsgType, web

from bot.bank.handoff import live
from bot.bank.handoff.models import Priority
from bot.clock import now
from bot.desk import sockets
from bot.desk.access import PageScript, can, requires
from bot.desk.common import run_db
from bot.desk.pages.escalations import HANDLE, PRIORITY_LABELS, SUPERVISE, mark_present

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

ALERTS = "/escalations/alerts"
SCRIPTS = [PageScript("alerts.js", HANDLE, ALERTS)]
ALERT_SECONDS = 2.0
OVERDUE_CHECK_SECONDS = 15.0


def alert_view(alert: live.Alert) -> Dict[str, Any]:
    """An alert as the page shows it (and as the desktop notice says it)."""
    case = alert.case
    priority = PRIORITY_LABELS.get(case.priority, case.priority)
    title, body = {
        live.NEW_CASE: (f"新的人工接待（{priority}）", f"{case.reason_label} · {case.reference}，请尽快接入。"),
        live.CUSTOMER_WROTE: ("客户发来新消息", f"你接待的 {case.reference}（{case.reason_label}）有新消息。"),
        live.OVERDUE: ("紧急接待超时无人回复",
                       f"{case.reference}（{case.reason_label}）已超过首次回复时限，请安排同事接入或直接接管。"),
    }[alert.kind]
    return {"type": "alert", "kind": alert.kind, "id": case.id, "reference": case.reference,
            "urgent": alert.kind == live.OVERDUE or case.priority == Priority.URGENT,
            "title": title, "body": body, "url": f"/escalations/{case.id}"}


async def _send(ws: web.WebSocketResponse, data: Dict[str, Any]) -> None:
    if not ws.closed:
        await ws.send_json(data, dumps=lambda obj: json.dumps(obj, ensure_ascii=False))


async def _watch(ws: web.WebSocketResponse, staff_id: int, supervise: bool, before: live.Snapshot) -> None:
    """Announce what changed since the last look (`before`, taken as the page connected), until the page goes."""
    while not ws.closed:
        await asyncio.sleep(ALERT_SECONDS)
        after = await run_db(live.snapshot, staff_id, supervise=supervise)
        for alert in live.news(before, after):
            await _send(ws, alert_view(alert))
        before = after


def _is_ping(message: Any) -> bool:
    try:
        data = json.loads(message.data) if message.type == WSMsgType.TEXT else None
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("type") == "ping"


async def _listen(ws: web.WebSocketResponse, staff_id: int) -> None:
    async for message in ws:
        if _is_ping(message):
            await mark_present(staff_id)
            await _send(ws, {"type": "pong"})


@routes.get(ALERTS)
@requires(HANDLE)
async def alerts_socket(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse(heartbeat=30)
    sockets.check_upgrade(request, ws, "这个地址是工作台的提醒连接，由工作台页面自动打开。")
    if not await sockets.prepare(request, ws):
        return ws
    staff_id, supervise = request["staff"].id, can(request, SUPERVISE)
    await mark_present(staff_id)
    before = await run_db(live.snapshot, staff_id, supervise=supervise)
    await sockets.until_either(_watch(ws, staff_id, supervise, before), _listen(ws, staff_id))
    return ws


async def check_overdue() -> None:
    """One pass: mark the urgent cases past target for the supervisors, with a note on each."""
    for reference in await run_db(live.alert_supervisors, at=now()):
        logger.warning("urgent case %s has had no first reply within its target: supervisors alerted", reference)


async def watch_overdue(_app: web.Application) -> AsyncIterator[None]:
    """A cleanup context: check for urgent cases past target for as long as the console serves."""

    async def regularly() -> None:
        while True:
            try:
                await check_overdue()
            except Exception:  # a database outage only delays the alert
                logger.exception("checking for urgent cases past target failed; retrying")
            await asyncio.sleep(OVERDUE_CHECK_SECONDS)

    task = asyncio.create_task(regularly())
    yield
    task.cancel()
