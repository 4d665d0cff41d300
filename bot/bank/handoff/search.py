"""Finding past and present cases: by reference, phone digits, dates, reason, priority, agent, tag and words.

Phone numbers are searched only by their last four digits, the part staff
see everywhere else (138****8000): a search box must not become a way to
test whole numbers. They match the customer's verified phone, the callback
number, and a number the customer typed in the conversation (kept masked,
so its last four digits).

Words match `Escalation.search_text`, the masked conversation copied at
hand-off, the agents' replies, notes and closing notes, as a substring:
Chinese has no spaces between words, so a word search would miss most of
it. PostgreSQL answers from a trigram index (migration 0016); SQLite scans,
which is fine at a helpline's volume. Messages the customer sent after the
hand-off live in Rasa's tracker store, not here, and are not searched.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import List, Optional

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.bank import references
from bot.bank.customers.models import Customer
from bot.bank.handoff.escalations import REASONS, QueueEntry, queue_entry
from bot.bank.handoff.models import Escalation, EscalationTag, Priority
from bot.bank.refusals import Refusal
from bot.clock import SHANGHAI

LIMIT = 50
PHONE_DIGITS = re.compile(r"^\d{4}$")
MAX_WORDS = 50


@dataclass(frozen=True)
class CaseQuery:
    """What staff filled in; empty fields do not narrow the search."""

    reference: str = ""
    phone_digits: str = ""
    since: Optional[date] = None
    until: Optional[date] = None
    reason: str = ""
    priority: str = ""
    agent_id: Optional[int] = None
    words: str = ""
    tag: str = ""

    @property
    def empty(self) -> bool:
        return not any((self.reference, self.phone_digits, self.since, self.until, self.reason, self.priority,
                        self.agent_id, self.words, self.tag))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(column, text: str):
    return column.ilike(f"%{_escape(text)}%", escape="\\")


def _checked(query: CaseQuery) -> CaseQuery:
    if query.phone_digits and not PHONE_DIGITS.match(query.phone_digits):
        raise Refusal("invalid", "手机号请只填最后 4 位数字。")
    if query.reason and query.reason not in REASONS:
        raise Refusal("invalid", "请从列表里选择转人工原因。")
    if query.priority and query.priority not in {p.value for p in Priority}:
        raise Refusal("invalid", "请从列表里选择紧急程度。")
    if query.since and query.until and query.since > query.until:
        raise Refusal("invalid", "开始日期不能晚于结束日期。")
    if len(query.words) > MAX_WORDS:
        raise Refusal("invalid", f"要找的内容请控制在 {MAX_WORDS} 字以内。")
    return query


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


def search(session: Session, query: CaseQuery, *, at: datetime, limit: int = LIMIT) -> List[QueueEntry]:
    """The cases matching every field filled in, newest first (at most `limit`)."""
    query = _checked(query)
    if query.empty:
        return []
    statement = select(Escalation).outerjoin(Customer, Customer.id == Escalation.customer_id)
    if query.reference:
        statement = statement.where(Escalation.reference == references.canonical(query.reference))
    if query.phone_digits:
        digits = query.phone_digits
        statement = statement.where(or_(Escalation.callback_phone.like(f"%{digits}"), Customer.phone.like(f"%{digits}"),
                                        Escalation.search_text.like(f"%*{digits}%")))
    if query.since:
        statement = statement.where(Escalation.created_at >= _day_start(query.since))
    if query.until:
        statement = statement.where(Escalation.created_at < _day_start(query.until + timedelta(days=1)))
    if query.reason:
        statement = statement.where(Escalation.reason == query.reason)
    if query.priority:
        statement = statement.where(Escalation.priority == query.priority)
    if query.agent_id is not None:
        statement = statement.where(Escalation.assignee_id == query.agent_id)
    if query.tag.strip():
        statement = statement.where(Escalation.tags.any(EscalationTag.tag == query.tag.strip()))
    if query.words.strip():
        statement = statement.where(_contains(Escalation.search_text, query.words.strip()))
    rows = session.execute(statement.order_by(Escalation.created_at.desc(), Escalation.id.desc())
                           .limit(limit)).scalars().all()
    return [queue_entry(row, at) for row in rows]
