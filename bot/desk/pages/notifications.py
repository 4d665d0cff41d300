"""Notifications the bank started (decisions, agents' replies, missed callbacks, reminders): did they arrive?

Agents and admins see each one with its route (the conversation's channel,
a WeChat template message, SMS), its attempts and its last error, so a
customer who never got a decision can be phoned. Phones are masked. A
customer who asks an agent to stop the booking reminders (退订) is recorded
here; decisions on their own requests still reach them.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from aiohttp import web

from bot.bank.messaging import notifications
from bot.bank.messaging.models import NotificationStatus
from bot.bank.staff.accounts import ADMIN, AGENT
from bot.desk.access import NavItem, requires
from bot.clock import now
from bot.desk.common import json_ok, run_db, text
from bot.desk.pages import form_action
from bot.desk.render import page

routes = web.RouteTableDef()
VIEW = "notifications.view"
GRANTS = {AGENT: {VIEW}, ADMIN: {VIEW}}
NAV = [NavItem("通知记录", "/notifications", VIEW, order=65)]


def _status(request: web.Request) -> Optional[str]:
    """`?status=` when it names a status; anything else lists them all."""
    asked = request.query.get("status", "")
    return asked if asked in {status.value for status in NotificationStatus} else None


@routes.get("/notifications")
@requires(VIEW)
@page("notifications.html")
async def notifications_page(request: web.Request) -> Dict[str, Any]:
    status = _status(request)
    return {"rows": await run_db(notifications.recent, status=status), "status": status or "",
            "statuses": notifications.STATUS_LABELS}


@routes.get("/api/notifications")
@requires(VIEW)
async def notifications_api(request: web.Request) -> web.StreamResponse:
    return json_ok({"notifications": await run_db(notifications.recent, status=_status(request))})


async def _opt_out(request: web.Request, data: Mapping[str, Any]) -> str:
    return await run_db(notifications.opt_out_phone, text(data, "phone"), at=now())


form_action(routes, "/notifications/opt-outs", VIEW, run=_opt_out, back=lambda _request: "/notifications",
            done=lambda masked: (f"已为 {masked} 退订预约提醒；审批结果等与客户本人申请有关的通知照常发送。", "ok"))
