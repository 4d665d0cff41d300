"""Suggested answers on a case page: the knowledge base's answers to the customer's latest message.

`GET /api/escalations/{id}/suggestions` answers the agent handling the case
with the customer's latest message (masked) and up to three approved answers
for it (bot/knowledge/suggest.py, the bot's matcher over what is published
now). The case page asks again whenever a new customer message arrives on
its live chat (bot/desk/static/suggestions.js); one click puts an answer in
the reply box to edit, and `POST …/suggestions/used` records which one, for
the knowledge-base editors (`GET /api/knowledge/suggestion-uses`).

The first request of a console process builds the matcher (seconds, on a
worker thread); `python -m bot.desk` starts building it at start-up.
"""
from __future__ import annotations

import asyncio
from typing import Any, Dict, Mapping, Optional

from aiohttp import web

from bot.bank.handoff import escalations as handoff
from bot.bank.knowledge import suggestions as uses
from bot.bank.refusals import Refusal
from bot.clock import now
from bot.desk.access import requires
from bot.desk.common import SETTINGS, inputs, json_ok, run_db, text
from bot.desk.pages import knowledge
from bot.desk.pages.escalations import CASE, HANDLE, can_reply, case_id, live_lines, service, snapshot_end
from bot.desk.transcripts import TranscriptUnavailable, intent_of
from bot.knowledge import live
from bot.knowledge.suggest import suggestions

routes = web.RouteTableDef()
NOT_YOURS = "只有正在接待这位客户的坐席能看到建议答复。"


async def latest_question(request: web.Request) -> str:
    """The customer's latest message on the agent's own case, masked ("" when none yet); a
    photo or file they sent is no question for the knowledge base."""
    case = await service(handoff.detail, case_id(request))
    if not can_reply(case.entry, request["staff"].id):
        raise Refusal("not_yours", NOT_YOURS)
    later, _available = await live_lines(request.app[SETTINGS], case.entry.id, case.conversation_id,
                                         snapshot_end(case.transcript))
    said = [line.get("text", "") for line in case.transcript if line.get("role") == "user"]
    said += [line["text"] for line in later if line["role"] == "user" and not line["file"]]
    return said[-1] if said else ""


async def _intent(request: web.Request, question: str) -> Optional[str]:
    try:
        return await intent_of(request.app[SETTINGS], question)
    except TranscriptUnavailable:
        return None   # the stricter threshold applies


@routes.get("/api" + CASE + "/suggestions")
@requires(HANDLE)
async def suggestions_api(request: web.Request) -> web.StreamResponse:
    question = await latest_question(request)
    if not question:
        return json_ok({"question": "", "suggestions": []})
    intent = await _intent(request, question)
    corpus = await asyncio.get_running_loop().run_in_executor(None, live.current)
    return json_ok({"question": question, "suggestions": suggestions(corpus, question, intent)})


async def _used(request: web.Request, data: Mapping[str, Any]) -> Dict[str, Any]:
    key = text(data, "key")
    await run_db(uses.record_use, case_id(request), request["staff"].id, key, text(data, "question"), at=now())
    return {"recorded": key}


@routes.post("/api" + CASE + "/suggestions/used")
@requires(HANDLE)
async def used_api(request: web.Request) -> web.StreamResponse:
    return json_ok(await _used(request, await inputs(request)))


@routes.get("/api/knowledge/suggestion-uses")
@requires(knowledge.PERMISSION)
async def usage_api(request: web.Request) -> web.StreamResponse:
    return json_ok({"topics": await run_db(uses.usage)})
