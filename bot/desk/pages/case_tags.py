"""Tags on a case page: add one (or the suggested one), remove one. Rules: bot.bank.handoff.tags."""
from __future__ import annotations

from typing import Any, Mapping

from aiohttp import web

from bot.bank.handoff import tags
from bot.bank.handoff.tags import CaseTags
from bot.clock import now
from bot.desk.common import run_db, text
from bot.desk.pages import form_action
from bot.desk.pages.escalations import CASE, HANDLE, case_id

routes = web.RouteTableDef()


async def _add(request: web.Request, data: Mapping[str, Any]) -> CaseTags:
    return await run_db(tags.add_tag, case_id(request), request["staff"].id, text(data, "tag"), at=now())


async def _remove(request: web.Request, data: Mapping[str, Any]) -> CaseTags:
    return await run_db(tags.remove_tag, case_id(request), text(data, "tag"))


def _back(request: web.Request) -> str:
    return f"/escalations/{case_id(request)}"


form_action(routes, CASE + "/tags", HANDLE, run=_add, back=_back,
            done=lambda found: ("已加标签：" + "、".join(found.tags), "ok"))
form_action(routes, CASE + "/tags/delete", HANDLE, run=_remove, back=_back,
            done=lambda found: ("已去掉标签。", "ok"))
