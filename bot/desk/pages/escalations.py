"""Escalations (人工接待): customers the bot handed to a person.

The queue comes most urgent first, then longest waiting, with the time left
until the first reply the bank promises for that priority (FIRST_REPLY_SLA).
An agent claims a case, chats with the customer (the live part is the
websocket in bot.desk.live_chat; the reply form here works without it),
keeps internal notes, transfers the case to a colleague or closes it, which
hands the conversation back to the bot. Customers who came when nobody was
on duty left a callback request instead; its number is shown in full only on
the case page, where the agent needs it to dial.

Everything the customer sees goes through bot.bank.handoff, which queues it
in the outbox in the same transaction as the state change. Those functions
open their own transactions, so they run on a worker thread by themselves
(`service`), never inside `run_db`.

Agents and admins handle escalations; branch staff do not. Every request
here records that the person has the console open (`touch_presence`): that
is how the bot decides between offering a person and offering a callback.
"""
from __future__ import annotations

import dataclasses
import functools
from datetime import datetime
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import aiohttp_jinja2
from aiohttp import web

from bot.bank.handoff import escalations as handoff
from bot.bank.handoff import tags
from bot.bank.handoff.escalations import CALLBACK, FIRST_REPLY_SLA, RESOLVED, WAITING, WITH_AGENT
from bot.bank.handoff.models import OPEN_ESCALATION_STATUSES, Priority
from bot.bank.masking import mask_phone
from bot.bank.refusals import Refusal
from bot.clock import SHANGHAI, now
from bot.desk.access import NavItem, can, requires
from bot.bank.staff.accounts import ADMIN, AGENT
from bot.desk.common import CHANNEL_LABELS, SETTINGS, age_label, json_ok, parse_int, run_db, text
from bot.desk.pages import form_action
from bot.desk.render import render
from bot.desk.transcripts import Line, TranscriptUnavailable, conversation_lines
from bot.settings import Settings

routes = web.RouteTableDef()
VIEW, HANDLE = "escalations.view", "escalations.handle"
SUPERVISE = "escalations.supervise"  # the duty supervisor's board and take-over (bot/desk/pages/supervision.py)
GRANTS = {AGENT: {VIEW, HANDLE}, ADMIN: {VIEW, HANDLE}}
NAV = [NavItem("人工接待", "/escalations", VIEW, order=10)]
CASE = r"/escalations/{escalation_id:\d+}"
REFRESH_SECONDS = 10

PRIORITY_LABELS = {Priority.URGENT: "紧急", Priority.HIGH: "较急", Priority.NORMAL: "一般"}
STATUS_LABELS = {WAITING: "等待中", WITH_AGENT: "接待中", CALLBACK: "待回电", RESOLVED: "已结束"}
SPEAKERS = {"user": "客户", "bot": "智能助手"}

async def service(func: Callable[..., Any], *args: Any) -> Any:
    """A bot.bank.handoff.escalations call in its own transaction, at the current time."""
    return await run_db(func, *args, at=now())


async def mark_present(staff_id: int) -> None:
    await service(handoff.touch_presence, staff_id)


def on_duty(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Record, before `handler(request, …)` runs, that this agent is at the console."""

    @functools.wraps(handler)
    async def present(request: web.Request, *args: Any) -> Any:
        await mark_present(request["staff"].id)
        return await handler(request, *args)

    return present


# --- what pages show ----------------------------------------------------------------------

def sla(entry: handoff.QueueEntry) -> Dict[str, str]:
    """Time left for the first reply, or how far past it the case is."""
    if entry.status not in OPEN_ESCALATION_STATUSES:
        return {"state": "none", "label": ""}
    if entry.first_reply_at:
        return {"state": "met", "label": "已回复"}
    late = entry.waited_minutes - entry.sla_minutes
    if late >= 0:
        return {"state": "overdue", "label": f"已超时 {late} 分钟" if late else "刚刚超时"}
    return {"state": "running", "label": f"还剩 {-late} 分钟"}


def status_text(entry: handoff.QueueEntry) -> str:
    """接待中 · 李敏, or 待回电 · 138****8000 · 明天上午 (the number masked)."""
    parts = [STATUS_LABELS.get(entry.status, entry.status)]
    if entry.status == WITH_AGENT:
        parts.append(entry.assignee or "")
    elif entry.status == CALLBACK:
        parts += [mask_phone(entry.callback_phone or ""), entry.callback_window or ""]
    return " · ".join(part for part in parts if part)


def can_reply(entry: handoff.QueueEntry, staff_id: int) -> bool:
    return entry.status == WITH_AGENT and entry.assignee_id == staff_id


def entry_view(entry: handoff.QueueEntry, staff_id: int) -> Dict[str, Any]:
    """A case as the queue, the case page and JSON show it; the callback number masked."""
    timer = sla(entry)
    return {
        "id": entry.id, "reference": entry.reference, "channel": entry.channel, "reason": entry.reason,
        "reason_label": entry.reason_label, "priority": entry.priority, "status": entry.status,
        "assignee": entry.assignee, "assignee_id": entry.assignee_id, "summary": entry.summary,
        "created_at": entry.created_at.isoformat(), "opened_at": entry.created_at.strftime("%H:%M"),
        "waited_minutes": entry.waited_minutes, "waited": age_label(entry.created_at, now()),
        "sla_minutes": entry.sla_minutes, "sla": timer, "overdue": timer["state"] == "overdue",
        "first_reply_at": entry.first_reply_at.isoformat() if entry.first_reply_at else None,
        "callback_phone": mask_phone(entry.callback_phone) if entry.callback_phone else None,
        "callback_window": entry.callback_window,
        "priority_label": PRIORITY_LABELS.get(entry.priority, entry.priority),
        "channel_label": CHANNEL_LABELS.get(entry.channel, entry.channel),
        "status_label": STATUS_LABELS.get(entry.status, entry.status), "status_text": status_text(entry),
        "mine": entry.assignee_id == staff_id, "can_claim": entry.status == WAITING,
        "can_reply": can_reply(entry, staff_id),
    }


def _unix(value: Any) -> Optional[float]:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def line_view(role: str, text: str, at: Any, agent: str = "") -> Dict[str, Any]:
    """One message: who said it and when (bank time), for pages and the websocket alike."""
    moment = _unix(at)
    clock = datetime.fromtimestamp(moment, SHANGHAI).strftime("%H:%M") if moment else ""
    return {"role": role, "text": text, "at": moment or 0.0, "agent": agent,
            "who": agent or SPEAKERS.get(role, role), "time": clock, "file": None}


def file_view(escalation_id: int, file: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    """The photo or PDF sent with a message, opened as part of its case (so a message naming
    another case's file opens nothing); None when there is none or it is not one of ours."""
    if not file or not str(file.get("id", "")).isdigit():
        return None
    return {"name": str(file.get("name", "")), "image": str(file.get("type", "")).startswith("image/"),
            "url": f"/escalations/{escalation_id}/files/{int(file['id'])}"}


def live_view(escalation_id: int, line: Line) -> Dict[str, Any]:
    return {**line_view(line.role, line.text, line.at, line.agent), "file": file_view(escalation_id, line.file)}


def snapshot_end(transcript: Sequence[Mapping[str, Any]]) -> float:
    """Where live messages begin: after the last line copied at hand-off
    (its `at` is the tracker event's Unix time)."""
    return max((t for t in (_unix(line.get("at")) for line in transcript) if t is not None), default=0.0)


def _note_view(note: Mapping[str, str]) -> Dict[str, str]:
    return {**note, "time": datetime.fromisoformat(note["at"]).strftime("%m-%d %H:%M")}


# --- reading ------------------------------------------------------------------------------

async def _queue(request: web.Request) -> Dict[str, Any]:
    me = request["staff"].id
    rows = [entry_view(entry, me) for entry in await service(handoff.queue)]
    return {"rows": rows, "waiting": sum(row["status"] == WAITING for row in rows),
            "overdue": sum(row["overdue"] for row in rows),
            "agents_online": await run_db(handoff.agents_online, now()),
            "on_duty": handoff.on_duty(now()), "refresh_seconds": REFRESH_SECONDS,
            "sla_rules": [(PRIORITY_LABELS[priority], minutes) for priority, minutes in FIRST_REPLY_SLA.items()]}


async def live_lines(config: Settings, escalation_id: int, conversation_id: str, since: float,
                     ) -> Tuple[List[Dict[str, Any]], bool]:
    """The case's messages after `since` from Rasa, and whether Rasa could be read at all."""
    try:
        lines = await conversation_lines(config, conversation_id, since)
        return [live_view(escalation_id, line) for line in lines], True
    except TranscriptUnavailable:
        return [], False


def case_id(request: web.Request) -> int:
    return int(request.match_info["escalation_id"])


async def _case(request: web.Request) -> Dict[str, Any]:
    me = request["staff"].id
    case = await service(handoff.detail, case_id(request))
    since = snapshot_end(case.transcript)
    messages, available = await live_lines(request.app[SETTINGS], case.entry.id, case.conversation_id, since)
    return {
        "escalation": entry_view(case.entry, me),
        "transcript": [line_view(line.get("role", ""), line.get("text", ""), line.get("at"))
                       for line in case.transcript],
        "messages": messages, "messages_available": available,
        "since": max([since] + [line["at"] for line in messages]),
        "notes": [_note_view(note) for note in case.notes], "close_note": case.close_note,
        "colleagues": ([dataclasses.asdict(person) for person in await service(handoff.colleagues, me)]
                       if can_reply(case.entry, me) else []),
        "tags": await run_db(tags.case_tags, case_id(request)),
        "can_take_over": (can(request, SUPERVISE) and case.entry.status == WITH_AGENT
                          and case.entry.assignee_id != me),
        # The one place the full number is shown: the agent dials it.
        "dial_phone": case.entry.callback_phone if case.entry.status == CALLBACK else None,
    }


@routes.get("/escalations")
@requires(VIEW)
@on_duty
async def queue_page(request: web.Request) -> web.StreamResponse:
    """The queue; `?part=table` is just the table, which the page re-fetches
    every few seconds (rendered without the one-time message, so a refresh
    never swallows one meant for the next page)."""
    context = await _queue(request)
    if request.query.get("part") == "table":
        return aiohttp_jinja2.render_template("escalations_table.html", request,
                                              {**context, "csrf_token": request["desk_session"].csrf})
    return render(request, "escalations.html", {**context, "script_url": _script_url(request)})


@routes.get("/api/escalations")
@requires(VIEW)
@on_duty
async def queue_api(request: web.Request) -> web.StreamResponse:
    context = await _queue(request)
    return json_ok({"count": len(context["rows"]), "waiting": context["waiting"], "overdue": context["overdue"],
                    "agents_online": context["agents_online"], "on_duty": context["on_duty"],
                    "escalations": context["rows"]})


@routes.get(CASE)
@requires(VIEW)
@on_duty
async def case_page(request: web.Request) -> web.StreamResponse:
    context = await _case(request)
    return render(request, "escalations_case.html",
                  {**context, "script_url": _script_url(request), "max_reply": handoff.MAX_REPLY_CHARS})


@routes.get("/api" + CASE)
@requires(VIEW)
@on_duty
async def case_api(request: web.Request) -> web.StreamResponse:
    return json_ok(await _case(request))


def _script_url(request: web.Request) -> str:
    return str(request.app.router["static"].url_for(filename="live_chat.js"))


# --- acting -------------------------------------------------------------------------------

async def act_on_case(request: web.Request, func: Callable[..., None], *args: Any) -> Dict[str, Any]:
    """`func(case, agent, *args)`, answered with the case as it is afterwards."""
    me = request["staff"].id
    await service(func, case_id(request), me, *args)
    return {"escalation": entry_view((await service(handoff.detail, case_id(request))).entry, me)}


async def _claim(request: web.Request, data: Mapping[str, Any]) -> Dict[str, Any]:
    return await act_on_case(request, handoff.claim)


async def _reply(request: web.Request, data: Mapping[str, Any]) -> Dict[str, Any]:
    return await act_on_case(request, handoff.reply, text(data, "text"))


async def _add_note(request: web.Request, data: Mapping[str, Any]) -> Dict[str, Any]:
    return await act_on_case(request, handoff.add_note, text(data, "text"))


async def _transfer(request: web.Request, data: Mapping[str, Any]) -> Dict[str, Any]:
    if not text(data, "to_staff_id"):
        raise Refusal("invalid", "请选择要转给哪位同事。")
    return await act_on_case(request, handoff.transfer, parse_int(data["to_staff_id"], "同事编号"))


async def _close(request: web.Request, data: Mapping[str, Any]) -> Dict[str, Any]:
    return await act_on_case(request, handoff.close, text(data, "note"))


async def _callback(request: web.Request, data: Mapping[str, Any]) -> Dict[str, Any]:
    reached = text(data, "reached")
    if reached not in ("yes", "no"):
        raise Refusal("invalid", "请选择是否联系上了客户。")
    return await act_on_case(request, handoff.finish_callback, reached == "yes", text(data, "note"))


def _said(message: str) -> Callable[[Dict[str, Any]], Tuple[str, str]]:
    """A one-time message filled in from the case, e.g. "已接入 {reference}"."""
    return lambda result: (message.format(**result["escalation"]), "ok")


def _called(result: Dict[str, Any]) -> Tuple[str, str]:
    case = result["escalation"]
    if case["status"] == RESOLVED:
        return f"已登记：联系上客户，回电请求 {case['reference']} 已完成。", "ok"
    return f"已登记：未接通。回电请求 {case['reference']} 仍在队列中，请稍后再打。", "warn"


def _back(request: web.Request) -> str:
    return f"/escalations/{case_id(request)}"


for suffix, action, message in (
    ("/claim", _claim, _said("已接入 {reference}，客户已收到你的问候。请尽快回复。")),
    ("/reply", _reply, _said("已发送，正在送达客户。")),
    ("/notes", _add_note, _said("已添加内部备注（客户看不到）。")),
    ("/transfer", _transfer, _said("已转给{assignee}，客户会收到新客服的问候。")),
    ("/close", _close, _said("已结束接待 {reference}，对话已交回智能助手。")),
    ("/callback", _callback, _called),
):
    form_action(routes, CASE + suffix, HANDLE, run=on_duty(action), done=message, back=_back)
