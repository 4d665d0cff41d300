"""What happens live on a hand-off: who is typing, a customer's new message, and cases
that need the duty supervisor.

The console and the Rasa servers are separate processes (several of each in a
cluster), and both already read the case's row, so the signals travel there:
the channels write when a customer writes or types, the console when an agent
types, and each side reads what the other wrote. Nothing here depends on the
clocks of the two sides agreeing: typing is "fresh" for a few seconds of the
reader's time, and the console finds news by comparing what it saw before
with what it sees now (`snapshot`, `news`), not by comparing timestamps.

WeChat shows an agent as typing only within 30 seconds of the customer's
last message and for 15 seconds at a time; `claim_typing` lets each channel
say how often it may be shown, and hands each showing to one server.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Dict, FrozenSet, List, Optional

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.bank.handoff import escalations
from bot.bank.handoff.escalations import FIRST_REPLY_SLA, REASONS, TYPING_FRESH, WAITING, WITH_AGENT
from bot.bank.handoff.models import OPEN_ESCALATION_STATUSES, Escalation, Priority
from bot.clock import local

SYSTEM_AUTHOR = "系统"

# --- the customer's side (called by the channels) ------------------------------------------------

def customer_wrote(session: Session, conversation_id: str, *, at: datetime) -> bool:
    """The customer sent a message while their case is open: the agent is told, and they stopped typing."""
    escalation = escalations.open_for(session, conversation_id)
    if escalation is None:
        return False
    escalation.customer_wrote_at, escalation.customer_typing_at = at, None
    return True


def customer_typing(session: Session, conversation_id: str, *, at: datetime) -> bool:
    """The customer is typing to the agent who has their case (before anyone joins, nobody is watching)."""
    escalation = escalations.open_for(session, conversation_id)
    if escalation is None or escalation.status != WITH_AGENT:
        return False
    escalation.customer_typing_at = at
    return True


# --- the agent's side (called by the console) -----------------------------------------------------

def agent_typing(session: Session, escalation_id: int, staff_id: int, *, at: datetime) -> bool:
    """The agent who has the case is typing; from a stale page (the case moved on) it is ignored."""
    escalation = session.get(Escalation, escalation_id)
    if escalation is None or escalation.status != WITH_AGENT or escalation.assignee_id != staff_id:
        return False
    escalation.agent_typing_at = at
    return True


@dataclass(frozen=True)
class TypingShown:
    """An agent typing, to be shown to the customer on `conversation_id`."""

    conversation_id: str
    customer_wrote_at: Optional[datetime]


def claim_typing(session: Session, channel: str, *, at: datetime, every: timedelta) -> List[TypingShown]:
    """The cases of `channel` whose agent typed since the customer was last shown so, at
    most once per `every`; each claimed by one server (a conditional update)."""
    due = or_(Escalation.typing_shown_at.is_(None), Escalation.typing_shown_at <= at - every)
    rows = session.execute(select(Escalation.id, Escalation.conversation_id, Escalation.customer_wrote_at).where(
        Escalation.channel == channel, Escalation.status == WITH_AGENT,
        Escalation.agent_typing_at >= at - TYPING_FRESH,
        or_(Escalation.typing_shown_at.is_(None), Escalation.agent_typing_at > Escalation.typing_shown_at),
        due)).all()
    shown = []
    for row in rows:
        won = session.execute(update(Escalation).where(Escalation.id == row.id, due)
                              .values(typing_shown_at=at).execution_options(synchronize_session=False))
        if won.rowcount:
            shown.append(TypingShown(row.conversation_id, local(row.customer_wrote_at)))
    return shown


# --- the duty supervisor -----------------------------------------------------------------------------

def alert_supervisors(session: Session, *, at: datetime) -> List[str]:
    """Mark, once each, the urgent cases still without a first reply past their target, with a
    note on the case; the consoles of supervisors on duty announce them. Returns their references."""
    unalerted = Escalation.supervisor_alerted_at.is_(None)
    late = session.execute(select(Escalation).where(
        Escalation.status.in_(OPEN_ESCALATION_STATUSES), Escalation.priority == Priority.URGENT,
        Escalation.first_reply_at.is_(None), unalerted,
        Escalation.created_at <= at - timedelta(minutes=FIRST_REPLY_SLA[Priority.URGENT]))).scalars().all()
    alerted = []
    for escalation in late:
        won = session.execute(update(Escalation).where(Escalation.id == escalation.id, unalerted)
                              .values(supervisor_alerted_at=at).execution_options(synchronize_session=False))
        if won.rowcount:
            minutes = FIRST_REPLY_SLA[Priority.URGENT]
            escalations.write_note(session, escalation, SYSTEM_AUTHOR,
                                   f"紧急接待超过 {minutes} 分钟仍未回复客户，已提醒值班主管。", at)
            alerted.append(escalation.reference)
    return alerted


# --- what an agent's console is told ------------------------------------------------------------------

@dataclass(frozen=True)
class CaseBrief:
    id: int
    reference: str
    priority: str
    reason_label: str


@dataclass(frozen=True)
class Snapshot:
    """What one agent's console knows of the desk at one moment."""

    waiting: Dict[int, CaseBrief] = field(default_factory=dict)
    # The agent's own cases and when each customer last wrote.
    mine: Dict[int, Optional[datetime]] = field(default_factory=dict)
    briefs: Dict[int, CaseBrief] = field(default_factory=dict)
    alerted: FrozenSet[int] = frozenset()


@dataclass(frozen=True)
class Alert:
    kind: str   # NEW_CASE, CUSTOMER_WROTE or OVERDUE
    case: CaseBrief


NEW_CASE, CUSTOMER_WROTE, OVERDUE = "new_case", "customer_wrote", "overdue"


def _brief(escalation: Escalation) -> CaseBrief:
    return CaseBrief(escalation.id, escalation.reference, escalation.priority, REASONS[escalation.reason].label)


def snapshot(session: Session, staff_id: int, *, supervise: bool) -> Snapshot:
    """The waiting cases, the agent's own cases, and (for a supervisor) the cases alerted to supervisors."""
    rows = session.execute(select(Escalation).where(Escalation.status.in_(OPEN_ESCALATION_STATUSES))).scalars().all()
    briefs = {row.id: _brief(row) for row in rows}
    return Snapshot(
        waiting={row.id: briefs[row.id] for row in rows if row.status == WAITING},
        mine={row.id: local(row.customer_wrote_at) for row in rows
              if row.status == WITH_AGENT and row.assignee_id == staff_id},
        briefs=briefs,
        alerted=frozenset(row.id for row in rows if supervise and row.supervisor_alerted_at is not None))


def news(before: Snapshot, after: Snapshot) -> List[Alert]:
    """What happened between two snapshots that the agent should hear about at once:
    a case joined the queue, a customer of theirs wrote, a case was alerted to supervisors."""
    found = [Alert(NEW_CASE, case) for case_id, case in after.waiting.items() if case_id not in before.waiting]
    found += [Alert(CUSTOMER_WROTE, after.briefs[case_id]) for case_id, wrote in after.mine.items()
              if wrote is not None and case_id in before.mine and wrote != before.mine[case_id]]
    found += [Alert(OVERDUE, after.briefs[case_id]) for case_id in sorted(after.alerted - before.alerted)]
    return found
