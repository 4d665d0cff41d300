"""One short satisfaction question at the natural end of a conversation.

Asked after the customer says thanks or goodbye, and in the message that
closes an agent's case. Never twice on one day for the same conversation
or customer (nobody likes being surveyed), and never while an urgent case
of theirs is still open: someone whose card was just stolen should not be
asked to rate us before it is sorted out.
"""
from __future__ import annotations

from datetime import datetime, time
from typing import Dict, Optional

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.bank.csat.models import CsatSurvey
from bot.bank.handoff.models import Escalation, EscalationStatus, Priority
from bot.wording import render

MAX_COMMENT = 500
# Urgent cases after which the day brings no satisfaction question (bot.bank.handoff.escalations.REASONS).
NOT_ASKED_AFTER = ("fraud", "distress")


def question() -> Dict:
    """The question as a bot message with one button per answer (response `utter_csat_question`),
    for the outbox after an agent closes a case; in a turn the action names the response."""
    return render("utter_csat_question")


def _start_of_day(at: datetime) -> datetime:
    return datetime.combine(at.date(), time(0), tzinfo=at.tzinfo)


def may_ask(session: Session, conversation_id: str, customer_id: Optional[int], at: datetime) -> bool:
    """Not asked today, no urgent case of this conversation still open, and none
    about fraud or distress opened today: "how did we do?" to someone just robbed
    or in crisis reads as if the bank did not listen, even once the case is closed.
    (A lost card, once an agent has dealt with it, is asked like any other case.)"""
    who = [CsatSurvey.conversation_id == conversation_id]
    if customer_id is not None:
        who.append(CsatSurvey.customer_id == customer_id)
    asked = session.execute(select(CsatSurvey.id).where(
        or_(*who), CsatSurvey.asked_at >= _start_of_day(at)).limit(1)).first()
    urgent = session.execute(select(Escalation.id).where(
        Escalation.conversation_id == conversation_id, Escalation.priority == Priority.URGENT,
        or_(Escalation.status != EscalationStatus.RESOLVED,
            and_(Escalation.reason.in_(NOT_ASKED_AFTER), Escalation.created_at >= _start_of_day(at))))
        .limit(1)).first()
    return asked is None and urgent is None


def ask(session: Session, conversation_id: str, channel: str, customer_id: Optional[int] = None,
        escalation_id: Optional[int] = None, *, at: datetime) -> bool:
    """Record the question if it may be asked; False when it may not (see `may_ask`)."""
    if not may_ask(session, conversation_id, customer_id, at):
        return False
    session.add(CsatSurvey(conversation_id=conversation_id, channel=channel, customer_id=customer_id,
                           escalation_id=escalation_id, asked_at=at))
    session.flush()
    return True


def _open_survey(session: Session, conversation_id: str, at: datetime) -> Optional[CsatSurvey]:
    """Today's latest survey of the conversation."""
    return session.execute(select(CsatSurvey).where(
        CsatSurvey.conversation_id == conversation_id, CsatSurvey.asked_at >= _start_of_day(at))
        .order_by(CsatSurvey.id.desc()).limit(1)).scalars().first()


def record_score(session: Session, conversation_id: str, score: int, *, at: datetime) -> bool:
    """Store the answer to today's question; False when none was asked."""
    survey = _open_survey(session, conversation_id, at)
    if survey is None:
        return False
    survey.score, survey.answered_at = score, at
    return True


def record_comment(session: Session, conversation_id: str, comment: str, *, at: datetime) -> bool:
    survey = _open_survey(session, conversation_id, at)
    text = " ".join((comment or "").split())[:MAX_COMMENT]
    if survey is None or not text:
        return False
    survey.comment = text
    return True
