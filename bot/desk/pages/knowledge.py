"""The knowledge base (知识库): the answers the bot gives to informational questions.

Knowledge-base editors and admins write a topic as a draft (title, the
answer, example questions), try what the bot would answer to a question
with the draft in place, and publish it: the bot answers with it within a
minute (bot/knowledge/live.py), without training or a restart. Every
revision stays in the topic's history with who wrote and published it.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from aiohttp import web

from bot.bank.knowledge import topics
from bot.bank.knowledge.topics import Article, TopicView
from bot.bank.refusals import Refusal
from bot.clock import now
from bot.desk.access import NavItem, requires
from bot.desk.common import SETTINGS, inputs, json_ok, plain, run_db, text
from bot.desk.pages import form_action
from bot.desk.render import page
from bot.desk.transcripts import TranscriptUnavailable, intent_of
from bot.knowledge.preview import preview, with_draft

routes = web.RouteTableDef()
PERMISSION = "knowledge.edit"
GRANTS = {"kb_editor": {PERMISSION}, "admin": {PERMISSION}}
NAV = [NavItem("知识库", "/knowledge", PERMISSION, order=60)]
TOPIC = "/knowledge/{key:[a-z][a-z0-9_]{2,47}}"


def _lines(value: Any) -> list:
    """Example questions from a textarea (one a line) or a JSON list."""
    return list(value) if isinstance(value, list) else str(value or "").splitlines()


@routes.get("/knowledge")
@requires(PERMISSION)
@page("knowledge.html")
async def list_page(request: web.Request) -> Dict[str, Any]:
    return {"topics": await run_db(topics.topics)}


@routes.get("/api/knowledge")
@requires(PERMISSION)
async def list_api(request: web.Request) -> web.StreamResponse:
    return json_ok({"topics": await run_db(topics.topics)})


async def _topic(request: web.Request) -> TopicView:
    return await run_db(topics.topic, request.match_info["key"])


@routes.get("/knowledge/new")
@requires(PERMISSION)
@page("knowledge_topic.html")
async def new_page(request: web.Request) -> Dict[str, Any]:
    return {"topic": None, "editing": None, "tried": None}


@routes.get(TOPIC)
@requires(PERMISSION)
@page("knowledge_topic.html")
async def topic_page(request: web.Request) -> Dict[str, Any]:
    topic = await _topic(request)
    return {"topic": topic, "editing": topic.draft or topic.published or topic.history[0], "tried": None}


@routes.get("/api" + TOPIC)
@requires(PERMISSION)
async def topic_api(request: web.Request) -> web.StreamResponse:
    return json_ok({"topic": await _topic(request)})


async def _save(request: web.Request, data: Mapping[str, Any]) -> TopicView:
    return await run_db(topics.save_draft, text(data, "key") or None, text(data, "title"),
                        str(data.get("answer") or ""), _lines(data.get("examples")),
                        author=request["staff"].username, at=now(), note=text(data, "note"))


async def _publish(request: web.Request, data: Mapping[str, Any]) -> TopicView:
    return await run_db(topics.publish, request.match_info["key"], author=request["staff"].username, at=now())


async def _withdraw(request: web.Request, data: Mapping[str, Any]) -> TopicView:
    return await run_db(topics.withdraw, request.match_info["key"], author=request["staff"].username, at=now())


def _to_topic(request: web.Request) -> str:
    return f"/knowledge/{request.match_info['key']}" if "key" in request.match_info else "/knowledge"


form_action(routes, "/knowledge/drafts", PERMISSION, run=_save, back=lambda request: "/knowledge",
            done=lambda view: (f"已保存“{view.title}”的草稿（尚未上线）。试一试客户会怎么问，确认无误后再发布。", "ok"))
form_action(routes, TOPIC + "/publish", PERMISSION, run=_publish, back=_to_topic,
            done=lambda view: (f"“{view.title}”已发布，智能客服一分钟内开始用新答案回答。", "ok"))
form_action(routes, TOPIC + "/withdraw", PERMISSION, run=_withdraw, back=_to_topic,
            done=lambda view: (f"“{view.title}”已下线，智能客服不再用它回答；历史版本都保留着。", "ok"))


# --- what would the bot answer ---------------------------------------------------------------------

def _draft_of(data: Mapping[str, Any]) -> Optional[Article]:
    """The draft being edited, when the form carries one (checked like a saved draft)."""
    if not text(data, "answer"):
        return None
    title, answer, examples = topics.checked(text(data, "title"), str(data.get("answer") or ""),
                                             _lines(data.get("examples")))
    return Article(text(data, "key") or "draft", title, answer, examples)


async def _try(request: web.Request, data: Mapping[str, Any]) -> Dict[str, Any]:
    question = text(data, "question")
    if not question:
        raise Refusal("invalid", "请写一句客户会怎么问。")
    try:
        intent: Optional[str] = await intent_of(request.app[SETTINGS], question)
    except TranscriptUnavailable:
        intent = None      # Rasa is away: show what the knowledge base alone would answer
    published = await run_db(topics.published_articles)
    result = preview(with_draft(published, _draft_of(data)), question, intent)
    return {"question": question, "intent": result.intent, "ranked": result.ranked,
            "answer": plain(result.article) if result.article else None}


@routes.post("/api/knowledge/try")
@requires(PERMISSION)
async def try_api(request: web.Request) -> web.StreamResponse:
    return json_ok(await _try(request, await inputs(request)))


@routes.post("/knowledge/try")
@requires(PERMISSION)
@page("knowledge_topic.html")
async def try_page(request: web.Request) -> Dict[str, Any]:
    """The editing page again, the form as typed, with the answer the bot would give."""
    data = await inputs(request)
    key = text(data, "key")
    topic = await run_db(topics.topic, key) if key else None
    editing = {"title": text(data, "title"), "answer": str(data.get("answer") or ""),
               "examples": _lines(data.get("examples"))}
    return {"topic": topic, "editing": editing, "tried": await _try(request, data)}
