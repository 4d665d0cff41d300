"""Loan deferral requests (变更扣款日): the retail service centre's queue.

Open requests come hardship first, then oldest. Per request staff record
each co-borrower's answer on the recorded call, then approve (only once
every co-borrower confirmed) or reject with a note the customer is told.
A decision queues the customer's message in the outbox in the same
transaction (bot.bank.debit_day.notify), for the channel they applied on.

Agents and admins handle these; branch staff do not (loans are handled by
the retail service centre, not branches), so they get 403 and no menu entry.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Dict, Mapping

from aiohttp import web

from bot.bank.debit_day import review
from bot.bank.debit_day.applications import WAIT_BANK, WAIT_CO_BORROWERS, WAIT_REFUSED, request_not_found
from bot.bank.debit_day.models import OPEN_REQUEST_STATUSES, ConfirmationStatus, RequestStatus
from bot.bank.debit_day.notify import notify_decision
from bot.bank.debit_day.review import QueueItem
from bot.bank.references import canonical
from bot.bank.refusals import Refusal
from bot.clock import now
from bot.desk.access import NavItem, requires
from bot.desk.common import CHANNEL_LABELS, age_label, json_ok, plain, run_db, text
from bot.desk.pages import form_action
from bot.desk.render import page

routes = web.RouteTableDef()
PERMISSION = "deferrals.handle"
GRANTS = {"agent": {PERMISSION}, "admin": {PERMISSION}}
NAV = [NavItem("扣款日变更申请", "/deferrals", PERMISSION, order=25)]

STATUS_LABELS = {
    RequestStatus.SUBMITTED: "待审批", RequestStatus.AWAITING_CONFIRMATION: "待共同借款人确认",
    RequestStatus.APPROVED: "已通过", RequestStatus.REJECTED: "未通过", RequestStatus.CANCELLED: "客户已撤回",
}
WAITING_LABELS = {
    WAIT_CO_BORROWERS: "等待共同借款人录音确认", WAIT_REFUSED: "有共同借款人不同意", WAIT_BANK: "可以审批",
}
CONFIRMATION_LABELS = {ConfirmationStatus.PENDING: "待确认", ConfirmationStatus.CONFIRMED: "已同意",
                       ConfirmationStatus.REFUSED: "不同意"}

# --- what pages show ----------------------------------------------------------------------

def approve_block(item: QueueItem) -> str:
    """Why approval is not possible yet, or "" when it is."""
    if item.status not in OPEN_REQUEST_STATUSES:
        return "这笔申请已经处理完毕。"
    refused = [c.name for c in item.confirmations if c.status == ConfirmationStatus.REFUSED]
    if refused:
        return f"共同借款人{'、'.join(refused)}不同意调整扣款日，不能批准。如情况有变可重新登记确认结果，否则请选“不通过”并说明原因。"
    pending = [c.name for c in item.confirmations if c.status != ConfirmationStatus.CONFIRMED]
    if pending:
        return f"还需 {'、'.join(pending)} 在录音电话中同意后才能批准（共 {len(pending)} 位未确认）。"
    return ""


def item_json(item: QueueItem, moment: datetime, **extra: Any) -> Dict[str, Any]:
    data = plain(item)
    data.update(ready=item.ready, is_open=item.status in OPEN_REQUEST_STATUSES,
                status_label=STATUS_LABELS.get(item.status, item.status),
                waiting_label=WAITING_LABELS.get(item.waiting_for, ""),
                age=age_label(item.created_at, moment), can_approve=not approve_block(item),
                approve_blocked_because=approve_block(item))
    data.update(plain(extra))
    return data


def _labels() -> Dict[str, Any]:
    return {"STATUS": STATUS_LABELS, "WAITING": WAITING_LABELS, "CONFIRMATION": CONFIRMATION_LABELS,
            "CHANNELS": CHANNEL_LABELS, "approve_block": approve_block, "age_label": age_label}


# --- reading ------------------------------------------------------------------------------

async def _load_detail(request: web.Request) -> QueueItem:
    return await run_db(review.staff_request, request.match_info["reference"])


@routes.get("/deferrals")
@requires(PERMISSION)
@page("deferrals.html")
async def queue_page(request: web.Request) -> Dict[str, Any]:
    wanted = canonical(request.query.get("reference", ""))
    if wanted:
        if not re.fullmatch(r"[0-9A-Z]{1,16}", wanted):
            raise request_not_found()
        raise web.HTTPFound(f"/deferrals/{wanted}")
    items = await run_db(review.staff_queue)
    return {"items": items, "now": now(), "hardship_count": sum(1 for i in items if i.hardship), **_labels()}


@routes.get("/api/deferrals")
@requires(PERMISSION)
async def queue_api(request: web.Request) -> web.StreamResponse:
    items = await run_db(review.staff_queue)
    moment = now()
    return json_ok({"count": len(items), "requests": [item_json(i, moment) for i in items]})


@routes.get("/deferrals/{reference}")
@requires(PERMISSION)
@page("deferral.html")
async def detail_page(request: web.Request) -> Dict[str, Any]:
    item = await _load_detail(request)
    return {"item": item, "decided_at": item.decided_at, "decided_by": item.decided_by, "now": now(), **_labels()}


@routes.get("/api/deferrals/{reference}")
@requires(PERMISSION)
async def detail_api(request: web.Request) -> web.StreamResponse:
    return json_ok({"request": item_json(await _load_detail(request), now())})


# --- acting -------------------------------------------------------------------------------

def _who(request: web.Request) -> str:
    return request["staff"].username


async def _confirm(request: web.Request, data: Mapping[str, Any]) -> Dict[str, Any]:
    phone = text(data, "phone")
    if not phone:
        raise Refusal("invalid", "请选择要登记的共同借款人。")
    outcome = text(data, "outcome")
    call_reference = text(data, "call_reference")
    moment = now()
    item = await run_db(review.record_confirmation, request.match_info["reference"], phone, outcome,
                        call_reference, _who(request), moment)
    task = next(c for c in item.confirmations if c.phone == phone)
    return {"request": item_json(item, moment), "confirmation": {"name": task.name, "status": task.status},
            "_item": item}


def _decide_and_notify(session, action, *args) -> Dict[str, Any]:
    """The decision and the customer's outbox message commit together."""
    decision = action(session, *args)
    notify_decision(session, decision, at=decision.decided_at)
    return {"decision": decision, "item": review.staff_request(session, decision.reference)}


async def _decide(request: web.Request, action, *args) -> Dict[str, Any]:
    result = await run_db(_decide_and_notify, action, *args)
    return {"decision": plain(result["decision"]), "request": item_json(result["item"], now()),
            "_item": result["item"]}


async def _approve(request: web.Request, data: Mapping[str, Any]) -> Dict[str, Any]:
    return await _decide(request, review.approve, request.match_info["reference"], _who(request), now(),
                         text(data, "note"))


async def _reject(request: web.Request, data: Mapping[str, Any]) -> Dict[str, Any]:
    note = text(data, "note")
    if not note:
        raise Refusal("invalid", "选择不通过时请填写原因。这段话会原样发给客户，请用客户能看懂的话写。")
    return await _decide(request, review.reject, request.match_info["reference"], _who(request), note, now())


def _strip(result: Dict[str, Any]) -> Dict[str, Any]:
    return {key: value for key, value in result.items() if not key.startswith("_")}


def _json_safe(run):
    async def wrapped(request: web.Request, data: Mapping[str, Any]) -> Any:
        result = await run(request, data)
        return _Answer(result)

    return wrapped


class _Answer(dict):
    """A result that renders as JSON without internals and still gives the page its message."""

    def __init__(self, result: Dict[str, Any]) -> None:
        super().__init__(_strip(result))
        self.item: QueueItem = result["_item"]
        self.confirmation = result.get("confirmation")
        self.decision = result.get("decision")


def _confirmed_message(answer: _Answer):
    item, task = answer.item, answer.confirmation
    said = "同意" if task["status"] == ConfirmationStatus.CONFIRMED else "不同意"
    message = f"已登记：共同借款人{task['name']}{said}（申请 {item.reference}）。"
    if item.ready:
        return message + "所有共同借款人均已同意，现在可以审批。", "ok"
    return message, ("ok" if task["status"] == ConfirmationStatus.CONFIRMED else "warn")


def _decided_message(answer: _Answer):
    item = answer.item
    channel = CHANNEL_LABELS.get(item.channel, item.channel)
    if item.status == RequestStatus.APPROVED:
        return (f"已批准 {item.reference}：{item.borrower_name}的贷款改为每月 {item.requested_day} 日扣款。"
                f"通知已排队，将通过{channel}发给客户。", "ok")
    return f"{item.reference} 未通过。不通过的原因将通过{channel}发给客户。", "ok"


def _back(request: web.Request) -> str:
    return f"/deferrals/{request.match_info['reference']}"


form_action(routes, "/deferrals/{reference}/confirm", PERMISSION,
            run=_json_safe(_confirm), done=_confirmed_message, back=_back)
form_action(routes, "/deferrals/{reference}/approve", PERMISSION,
            run=_json_safe(_approve), done=_decided_message, back=_back)
form_action(routes, "/deferrals/{reference}/reject", PERMISSION,
            run=_json_safe(_reject), done=_decided_message, back=_back)
