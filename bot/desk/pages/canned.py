"""Canned replies (快捷回复): admins manage them; agents insert them on a case page.

Admins see every reply at /canned, add one, change or delete it. The case
page fetches `GET /api/escalations/{id}/canned`, the replies this agent may
use on this case with the placeholders already filled in (bot.bank.handoff.canned),
and `bot/desk/static/canned.js` offers them when the agent types `/` in the
reply box.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping

from aiohttp import web

from bot.bank.handoff import canned
from bot.bank.handoff.canned import Canned
from bot.bank.staff.accounts import ADMIN
from bot.clock import now
from bot.desk.access import NavItem, requires
from bot.desk.common import json_ok, parse_int, run_db, text
from bot.desk.pages import form_action
from bot.desk.pages.escalations import CASE, HANDLE, case_id
from bot.desk.render import page

routes = web.RouteTableDef()
MANAGE = "canned.manage"
GRANTS = {ADMIN: {MANAGE}}
NAV = [NavItem("快捷回复", "/canned", MANAGE, order=85)]
ONE = r"/canned/{reply_id:\d+}"


@routes.get("/canned")
@requires(MANAGE)
@page("canned.html")
async def canned_page(request: web.Request) -> Dict[str, Any]:
    return {"replies": await run_db(canned.all_replies), "placeholders": canned.PLACEHOLDERS}


@routes.get("/api/canned")
@requires(MANAGE)
async def canned_api(request: web.Request) -> web.StreamResponse:
    return json_ok({"replies": await run_db(canned.all_replies)})


@routes.get("/api" + CASE + "/canned")
@requires(HANDLE)
async def case_canned_api(request: web.Request) -> web.StreamResponse:
    """What this agent can insert on this case, ready to edit and send."""
    return json_ok({"replies": await run_db(canned.for_case, case_id(request), request["staff"].id)})


def _reply_id(request: web.Request) -> int:
    return parse_int(request.match_info["reply_id"], "编号")


async def _save(request: web.Request, data: Mapping[str, Any], **which: Any) -> Canned:
    return await run_db(canned.save, shortcut=text(data, "shortcut"), title=text(data, "title"),
                        body=text(data, "body"), team=text(data, "team"),
                        author=request["staff"].display_name, at=now(), **which)


async def _add(request: web.Request, data: Mapping[str, Any]) -> Canned:
    return await _save(request, data)


async def _change(request: web.Request, data: Mapping[str, Any]) -> Canned:
    return await _save(request, data, reply_id=_reply_id(request))


async def _delete(request: web.Request, data: Mapping[str, Any]) -> Canned:
    return await run_db(canned.delete, _reply_id(request))


def _back(request: web.Request) -> str:
    return "/canned"


form_action(routes, "/canned", MANAGE, run=_add, back=_back,
            done=lambda reply: (f"已添加快捷回复 /{reply.shortcut}（{reply.label}）。", "ok"))
form_action(routes, ONE, MANAGE, run=_change, back=_back,
            done=lambda reply: (f"已保存快捷回复 /{reply.shortcut}。", "ok"))
form_action(routes, ONE + "/delete", MANAGE, run=_delete, back=_back,
            done=lambda reply: (f"已删除快捷回复 /{reply.shortcut}。", "ok"))
