"""值班看板: the duty supervisor's live view of the hand-off desk, and take-over.

Who has which case and for how long, who has waited past the first-reply
target, and which agents are at their console; refreshed every few
seconds like the queue (live_chat.js, `?part=board`). A supervisor (the
admin role) can take over any open chat from here or from its case page;
the rules and the audit note are in bot.bank.handoff.supervision.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping

import aiohttp_jinja2
from aiohttp import web

from bot.bank.handoff import supervision
from bot.bank.handoff.supervision import AgentLoad, Case
from bot.bank.staff.accounts import ADMIN
from bot.desk.access import NavItem, requires
from bot.desk.common import json_ok
from bot.desk.pages import form_action
from bot.desk.pages.escalations import (CASE, REFRESH_SECONDS, SUPERVISE, act_on_case, case_id, entry_view,
                                        on_duty, service)
from bot.desk.render import render

routes = web.RouteTableDef()
GRANTS = {ADMIN: {SUPERVISE}}
NAV = [NavItem("值班看板", "/supervision", SUPERVISE, order=11)]


def case_view(case: Case, staff_id: int) -> Dict[str, Any]:
    return {**entry_view(case.entry, staff_id), "claimed_minutes": case.claimed_minutes}


def agent_view(agent: AgentLoad, staff_id: int) -> Dict[str, Any]:
    if not agent.active:
        seen = "账号已停用"
    elif agent.online:
        seen = "在线"
    elif agent.last_seen_minutes is None:
        seen = "从未登录"
    elif agent.last_seen_minutes < 60:
        seen = f"离线（最后在线：{agent.last_seen_minutes} 分钟前）"
    else:
        seen = "离线"
    return {"id": agent.id, "name": agent.name, "online": agent.online, "seen": seen, "me": agent.id == staff_id,
            "cases": [case_view(case, staff_id) for case in agent.cases]}


async def _board(request: web.Request) -> Dict[str, Any]:
    me = request["staff"].id
    board = await service(supervision.board)
    return {"agents": [agent_view(agent, me) for agent in board.agents],
            "past_target": [case_view(case, me) for case in board.past_target],
            "waiting": board.waiting, "online": sum(agent.online for agent in board.agents),
            "refresh_seconds": REFRESH_SECONDS}


@routes.get("/supervision")
@requires(SUPERVISE)
@on_duty
async def board_page(request: web.Request) -> web.StreamResponse:
    context = await _board(request)
    if request.query.get("part") == "board":
        return aiohttp_jinja2.render_template("supervision_board.html", request,
                                              {**context, "csrf_token": request["desk_session"].csrf})
    script = str(request.app.router["static"].url_for(filename="live_chat.js"))
    return render(request, "supervision.html", {**context, "script_url": script})


@routes.get("/api/supervision")
@requires(SUPERVISE)
@on_duty
async def board_api(request: web.Request) -> web.StreamResponse:
    return json_ok(await _board(request))


async def _take_over(request: web.Request, data: Mapping[str, Any]) -> Dict[str, Any]:
    return await act_on_case(request, supervision.take_over)


form_action(routes, CASE + "/take-over", SUPERVISE, run=on_duty(_take_over),
            done=lambda result: (f"已接管 {result['escalation']['reference']}，客户已收到你的问候。请尽快回复。", "ok"),
            back=lambda request: f"/escalations/{case_id(request)}")
