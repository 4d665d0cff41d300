"""Alerts for agents on duty, on whichever console page they have open.

Every page an agent or admin opens connects one websocket here
(static/alerts.js). One watcher per console process (`DeskWatch`) looks at
the open cases every ALERT_SECONDS, in one query however many pages are
open, and each socket compares what it saw before with the new look
(bot.bank.handoff.live.news): a case that joined the queue, a case
transferred or handed to this agent, a message from a customer of theirs,
and, for a duty supervisor (`escalations.supervise`), an urgent case past
its first-reply target. A socket that connects is first told what still
needs someone (`still_to_act_on`), so nothing is lost while the agent moves
from page to page; the page shows each alert once per browser tab (its
`key`).

Each reaches the page as {"type": "alert", kind, key, id, reference, urgent,
sticky, replay, title, body, url}; the page shows it, rings, and raises a
desktop notice if the agent allowed them. An open tab is not being on duty:
the agents' presence comes from the queue and case pages, not from here.

Marking urgent cases for the supervisors is the console server's job
(`watch_overdue`, started by `python -m bot.desk`): it runs every
OVERDUE_CHECK_SECONDS, and each case is marked once however many consoles run.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, AsyncIterator, Dict, Optional, Tuple

from aiohttp import WSMsgType, web

from bot.bank.handoff import live
from bot.bank.handoff.escalations import FIRST_REPLY_SLA
from bot.bank.handoff.models import Priority
from bot.clock import now
from bot.desk import sockets
from bot.desk.access import PageScript, can, requires
from bot.desk.common import run_db
from bot.desk.pages.escalations import HANDLE, PRIORITY_LABELS, SUPERVISE

logger = logging.getLogger(__name__)
routes = web.RouteTableDef()

ALERTS = "/escalations/alerts"
SCRIPTS = [PageScript("alerts.js", HANDLE, ALERTS)]
ALERT_SECONDS = 2.0
OVERDUE_CHECK_SECONDS = 15.0


class DeskWatch:
    """The console's one look at the desk every ALERT_SECONDS, shared by every page's socket."""

    def __init__(self) -> None:
        self.state: live.DeskState = {}
        self.version = 0
        self._changed = asyncio.Condition()
        self._task: Optional[asyncio.Task] = None

    async def after(self, seen: int) -> Tuple[int, live.DeskState]:
        """The first look newer than `seen` (0: whatever look there is, waiting for the first)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        async with self._changed:
            await self._changed.wait_for(lambda: self.version > seen)
            return self.version, self.state

    async def _run(self) -> None:
        while True:
            try:
                state = await run_db(live.desk_state)
            except Exception:  # a database outage only delays the alerts
                logger.exception("looking at the desk for alerts failed; retrying")
            else:
                async with self._changed:
                    self.state, self.version = state, self.version + 1
                    self._changed.notify_all()
            await asyncio.sleep(ALERT_SECONDS)

    async def close(self, _app: Optional[web.Application] = None) -> None:
        if self._task is not None:
            self._task.cancel()


WATCH = web.AppKey("desk_watch", DeskWatch)


def prepare(app: web.Application) -> None:
    """The console's watcher, stopped with the app."""
    app[WATCH] = DeskWatch()
    app.on_cleanup.append(app[WATCH].close)


def alert_view(alert: live.Alert, *, replay: bool = False) -> Dict[str, Any]:
    """An alert as the page shows it (and as the desktop notice says it)."""
    case = alert.case
    urgent = alert.kind == live.OVERDUE or case.priority == Priority.URGENT
    soon = "及时" if case.priority == Priority.NORMAL else "尽快"
    about = f"{case.reason_label} · 编号 {case.reference}"
    title, body = {
        live.NEW_CASE: (f"【{PRIORITY_LABELS.get(case.priority, case.priority)}】新客户待接入",
                        f"{about}，请{soon}接入。"),
        live.ASSIGNED: ("同事转来一位客户", f"客户已转由你接待（{about}），请尽快回复。"),
        live.CUSTOMER_WROTE: ("客户发来新消息", f"你接待的客户发来了新消息（{about}）。"),
        live.OVERDUE: ("紧急会话超时未回复",
                       f"客户已超过 {FIRST_REPLY_SLA[Priority.URGENT]} 分钟未得到回复（{about}），"
                       "请安排同事处理，或由你直接接管。"),
    }[alert.kind]
    key = {live.CUSTOMER_WROTE: f"{alert.kind}:{case.id}:{case.customer_wrote_at}",
           live.ASSIGNED: f"{alert.kind}:{case.id}:{case.assignee_id}"}.get(alert.kind, f"{alert.kind}:{case.id}")
    return {"type": "alert", "kind": alert.kind, "key": key, "id": case.id, "reference": case.reference,
            "urgent": urgent, "sticky": alert.kind == live.OVERDUE or (alert.kind == live.NEW_CASE and urgent),
            "replay": replay, "title": title, "body": body, "url": f"/escalations/{case.id}"}


async def _send(ws: web.WebSocketResponse, data: Dict[str, Any]) -> None:
    if not ws.closed:
        await ws.send_json(data, dumps=lambda obj: json.dumps(obj, ensure_ascii=False))


async def _watch(ws: web.WebSocketResponse, watch: DeskWatch, staff_id: int, supervise: bool) -> None:
    """What still needs someone, then what changes, until the page goes."""
    seen, before = await watch.after(0)
    for alert in live.still_to_act_on(before, supervise=supervise):
        await _send(ws, alert_view(alert, replay=True))
    await _send(ws, {"type": "watching"})
    while not ws.closed:
        seen, after = await watch.after(seen)
        for alert in live.news(before, after, staff_id, supervise=supervise):
            await _send(ws, alert_view(alert))
        before = after


def _is_ping(message: Any) -> bool:
    try:
        data = json.loads(message.data) if message.type == WSMsgType.TEXT else None
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("type") == "ping"


async def _listen(ws: web.WebSocketResponse) -> None:
    async for message in ws:
        if _is_ping(message):
            await _send(ws, {"type": "pong"})


@routes.get(ALERTS)
@requires(HANDLE)
async def alerts_socket(request: web.Request) -> web.StreamResponse:
    ws = web.WebSocketResponse(heartbeat=30)
    sockets.check_upgrade(request, ws, "此链接仅供工作台内部使用，无需手动打开。请直接进入工作台页面。")
    if not await sockets.prepare(request, ws):
        return ws
    await sockets.until_either(_watch(ws, request.app[WATCH], request["staff"].id, can(request, SUPERVISE)),
                               _listen(ws))
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
