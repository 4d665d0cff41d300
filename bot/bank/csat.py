"""One short satisfaction question at the natural end of a conversation.

Asked after the customer says thanks or goodbye, and in the message that
closes an agent's case. Never twice on one day for the same conversation
or customer (nobody likes being surveyed), and never while an urgent case
of theirs is still open: someone whose card was just stolen should not be
asked to rate us before it is sorted out.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, time
from typing import Dict, Optional

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.bank.db import transaction
from bot.bank.models import CsatSurvey, Escalation
from bot.clock import now
from bot.nlu.normalise import normalise

CHOICES = (("满意", 5), ("一般", 3), ("不满意", 1))
QUESTION = "方便的话，请为这次服务打个分，您的评价能帮我们做得更好："
MAX_COMMENT = 500
NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_WORDS = (("不满意", 1), ("不太满意", 2), ("差评", 1), ("很差", 1), ("太差", 1), ("不太行", 2),
          ("一般", 3), ("还行", 3), ("凑合", 3), ("马马虎虎", 3), ("还可以", 4),
          ("满分", 5), ("好评", 5), ("满意", 5), ("很好", 5))


def question() -> Dict:
    """The question as a bot message with one button per answer."""
    return {"text": QUESTION,
            "buttons": [{"title": title, "payload": "/rate_service" + json.dumps({"csat_score": str(score)})}
                        for title, score in CHOICES]}


def score_from(value: Optional[str]) -> Optional[int]:
    """1–5 from a button's entity or the customer's own words."""
    text = normalise(str(value or "")).strip()
    digit = re.search(r"([1-5一二三四五两])\s*分", text) or re.fullmatch(r"([1-5])", text)
    if digit:
        return NUMERALS.get(digit.group(1)) or int(digit.group(1))
    return next((score for word, score in _WORDS if word in text), None)


def _start_of_day(at: datetime) -> datetime:
    return datetime.combine(at.date(), time(0), tzinfo=at.tzinfo)


def may_ask(session: Session, conversation_id: str, customer_id: Optional[int], at: datetime) -> bool:
    """Not asked today, and no urgent case of this conversation still open."""
    who = [CsatSurvey.conversation_id == conversation_id]
    if customer_id is not None:
        who.append(CsatSurvey.customer_id == customer_id)
    asked = session.execute(select(CsatSurvey.id).where(
        or_(*who), CsatSurvey.asked_at >= _start_of_day(at)).limit(1)).first()
    urgent = session.execute(select(Escalation.id).where(
        Escalation.conversation_id == conversation_id, Escalation.priority == "urgent",
        Escalation.status.in_(("waiting", "with_agent", "callback_requested"))).limit(1)).first()
    return asked is None and urgent is None


def ask_in(session: Session, conversation_id: str, channel: str, customer_id: Optional[int] = None,
           escalation_id: Optional[int] = None) -> bool:
    """Record the question if it may be asked (inside the caller's transaction)."""
    at = now()
    if not may_ask(session, conversation_id, customer_id, at):
        return False
    session.add(CsatSurvey(conversation_id=conversation_id, channel=channel, customer_id=customer_id,
                           escalation_id=escalation_id, asked_at=at))
    session.flush()
    return True


def ask(conversation_id: str, channel: str, customer_id: Optional[int] = None) -> bool:
    with transaction() as session:
        return ask_in(session, conversation_id, channel, customer_id)


def _open_survey(session: Session, conversation_id: str) -> Optional[CsatSurvey]:
    """Today's latest survey of the conversation."""
    at = now()
    return session.execute(select(CsatSurvey).where(
        CsatSurvey.conversation_id == conversation_id, CsatSurvey.asked_at >= _start_of_day(at))
        .order_by(CsatSurvey.id.desc()).limit(1)).scalars().first()


def record_score(conversation_id: str, score: int) -> bool:
    """Store the answer to today's question; False when none was asked."""
    with transaction() as session:
        survey = _open_survey(session, conversation_id)
        if survey is None:
            return False
        survey.score, survey.answered_at = score, now()
        return True


def record_comment(conversation_id: str, comment: str) -> bool:
    with transaction() as session:
        survey = _open_survey(session, conversation_id)
        text = " ".join((comment or "").split())[:MAX_COMMENT]
        if survey is None or not text:
            return False
        survey.comment = text
        return True
