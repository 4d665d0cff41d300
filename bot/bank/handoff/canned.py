"""Canned replies: the bank's approved wording for the questions agents answer all day.

Admins write them, for every agent or for one team. An agent on a case types
`/` and a shortcut; the reply comes into the reply box with its placeholders
filled in for this customer, and the agent edits it before sending. Filling
happens here, not in the browser, so a customer's name is only ever given
out masked (张**), and the hotline is the one in the bank's profile.

A team's reply with the same shortcut as a global one replaces it for that
team's agents, so a team can word an answer its own way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Mapping, Optional

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.bank.customers.models import Customer
from bot.bank.handoff.escalations import get_escalation
from bot.bank.handoff.models import CannedReply, Escalation
from bot.bank.masking import mask_name
from bot.bank.profile import load_profile
from bot.bank.refusals import Refusal
from bot.bank.staff.models import MAX_TEAM, Staff

SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,23}$")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
MAX_TITLE, MAX_BODY = 40, 1000
# Placeholders a body may use, with what each becomes and what admins are told it is.
CUSTOMER_NAME, HOTLINE = "客户姓名", "热线"
PLACEHOLDERS = {CUSTOMER_NAME: "客户姓名（只显示姓，如 张**；不知道姓名时为“客户”）",
                HOTLINE: "本行客服热线"}
UNKNOWN_NAME = "客户"


@dataclass(frozen=True)
class Canned:
    """A canned reply as admins manage it."""

    id: int
    shortcut: str
    title: str
    body: str
    team: str
    updated_by: str
    updated_at: datetime

    @property
    def label(self) -> str:
        return self.team or "全部坐席"


@dataclass(frozen=True)
class Filled:
    """A canned reply ready for one case's reply box."""

    shortcut: str
    title: str
    text: str


def _view(row: CannedReply) -> Canned:
    return Canned(row.id, row.shortcut, row.title, row.body, row.team, row.updated_by, row.updated_at)


def _checked(shortcut: str, title: str, body: str, team: str) -> tuple[str, str, str, str]:
    shortcut, title, body, team = (shortcut or "").strip().lstrip("/").lower(), (title or "").strip(), \
        (body or "").strip(), (team or "").strip()
    if not SHORTCUT.match(shortcut):
        raise Refusal("invalid", "快捷词请用 1 到 24 位小写字母、数字、横线或下划线，例如 hotline。")
    if not title or len(title) > MAX_TITLE:
        raise Refusal("invalid", f"请填写标题（{MAX_TITLE} 字以内），方便同事在列表里认出它。")
    if not body or len(body) > MAX_BODY:
        raise Refusal("invalid", f"请填写回复内容（{MAX_BODY} 字以内）。")
    if len(team) > MAX_TEAM:
        raise Refusal("invalid", f"班组名称请控制在 {MAX_TEAM} 字以内。")
    unknown = sorted({name for name in PLACEHOLDER.findall(body) if name not in PLACEHOLDERS})
    if unknown:
        allowed = "、".join("{" + name + "}" for name in PLACEHOLDERS)
        raise Refusal("invalid", f"不认识的占位符：{'、'.join('{' + n + '}' for n in unknown)}。可用的有 {allowed}。")
    return shortcut, title, body, team


def all_replies(session: Session) -> List[Canned]:
    """Every canned reply, global ones first, then by team and shortcut."""
    rows = session.execute(select(CannedReply).order_by(CannedReply.team, CannedReply.shortcut)).scalars()
    return [_view(row) for row in rows]


def save(session: Session, *, shortcut: str, title: str, body: str, team: str, author: str, at: datetime,
         reply_id: Optional[int] = None) -> Canned:
    """Add a canned reply, or change the one with `reply_id`."""
    shortcut, title, body, team = _checked(shortcut, title, body, team)
    row = CannedReply() if reply_id is None else _get(session, reply_id)
    row.shortcut, row.title, row.body, row.team = shortcut, title, body, team
    row.updated_by, row.updated_at = author, at
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Refusal("invalid", f"{'班组 ' + team if team else '全部坐席'}已经有快捷词 /{shortcut} 了，"
                                 "请换一个，或直接修改原来那条。") from None
    return _view(row)


def delete(session: Session, reply_id: int) -> Canned:
    row = _get(session, reply_id)
    session.delete(row)
    return _view(row)


def _get(session: Session, reply_id: int) -> CannedReply:
    row = session.get(CannedReply, reply_id)
    if row is None:
        raise Refusal("not_found", "没有找到这条快捷回复，可能已被删除。")
    return row


def fill(body: str, values: Mapping[str, str]) -> str:
    """`body` with each known placeholder replaced by its value."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), body)


def _values(session: Session, escalation: Escalation) -> Dict[str, str]:
    customer = session.get(Customer, escalation.customer_id) if escalation.customer_id else None
    name = mask_name(customer.name) if customer is not None and (customer.name or "").strip() else UNKNOWN_NAME
    return {CUSTOMER_NAME: name, HOTLINE: load_profile().hotline}


def for_case(session: Session, escalation_id: int, staff_id: int) -> List[Filled]:
    """The replies this agent may insert on this case, filled in for its customer:
    the global ones and their team's, a team's replacing a global one of the same shortcut."""
    escalation = get_escalation(session, escalation_id)
    staff = session.get(Staff, staff_id)
    team = (staff.team or "") if staff is not None else ""
    rows = session.execute(select(CannedReply).where(or_(CannedReply.team == "", CannedReply.team == team))
                           .order_by(CannedReply.shortcut)).scalars().all()
    chosen: Dict[str, CannedReply] = {}
    for row in rows:
        if row.shortcut not in chosen or row.team:
            chosen[row.shortcut] = row
    values = _values(session, escalation)
    return [Filled(row.shortcut, row.title, fill(row.body, values)) for row in chosen.values()]
