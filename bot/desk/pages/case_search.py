"""Finding cases (查找接待记录): the search form and its JSON twin.

The same people who see the queue may search (`escalations.view`), and the
results are shown as the queue shows cases, with numbers masked. The rules
are bot.bank.handoff.search.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from aiohttp import web

from bot.bank.handoff.escalations import REASONS
from bot.bank.handoff.search import CaseQuery, search
from bot.bank.staff.accounts import list_staff
from bot.bank.staff.models import AGENT_ROLES
from bot.clock import now
from bot.desk.access import requires
from bot.desk.common import json_ok, optional_day, parse_int, run_db, text
from bot.desk.pages.escalations import PRIORITY_LABELS, VIEW, entry_view, on_duty
from bot.desk.render import page

routes = web.RouteTableDef()
FIELDS = ("reference", "phone", "since", "until", "reason", "priority", "agent", "tag", "words")


def case_query(data: Mapping[str, Any]) -> CaseQuery:
    agent = text(data, "agent")
    agent_id: Optional[int] = parse_int(agent, "坐席") if agent else None
    return CaseQuery(reference=text(data, "reference"), phone_digits=text(data, "phone"),
                     since=optional_day(text(data, "since"), "开始日期"),
                     until=optional_day(text(data, "until"), "结束日期"),
                     reason=text(data, "reason"), priority=text(data, "priority"), agent_id=agent_id,
                     words=text(data, "words"), tag=text(data, "tag"))


async def _found(request: web.Request) -> Dict[str, Any]:
    query = case_query(request.query)
    rows = await run_db(search, query, at=now())
    me = request["staff"].id
    return {"asked": not query.empty, "rows": [entry_view(row, me) for row in rows]}


@routes.get("/escalations/search")
@requires(VIEW)
@on_duty
@page("escalations_search.html")
async def search_page(request: web.Request) -> Dict[str, Any]:
    agents = [person for person in await run_db(list_staff) if person.role in AGENT_ROLES]
    return {**await _found(request), "values": {name: request.query.get(name, "") for name in FIELDS},
            "reasons": {key: reason.label for key, reason in REASONS.items()},
            "priorities": PRIORITY_LABELS, "agents": agents}


@routes.get("/api/escalations/search")
@requires(VIEW)
async def search_api(request: web.Request) -> web.StreamResponse:
    found = await _found(request)
    return json_ok({"count": len(found["rows"]), "escalations": found["rows"]})
