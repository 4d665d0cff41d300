"""What happens live on a hand-off: who is typing, a customer's new message, and cases
that need the duty supervisor.

The console and the Rasa servers are separate processes (several of each in a
cluster), and both already read the case's row, so the signals travel there:
the channels write when a customer writes or types, the console when an agent
types, and each side reads what the other wrote. Typing is "fresh" for a few
seconds either side of the reader's clock (the servers' clocks, kept by NTP,
may differ a little). The console finds news by comparing what it saw of the
desk before with what it sees now (`desk_state`, `news`), not by comparing
timestamps.

WeChat shows an agent as typing only within 30 seconds of the customer's
last message and for 15 seconds at a time; `claim_typing` lets each channel
say how often it may be shown, and hands each showing to one server.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Optional

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
    due = (Escalation.status == WITH_AGENT, Escalation.agent_typing_at >= at - TYPING_FRESH,
           or_(Escalation.typing_shown_at.is_(None), Escalation.agent_typing_at > Escalation.typing_shown_at),
           or_(Escalation.typing_shown_at.is_(None), Escalation.typing_shown_at <= at - every))
    rows = session.execute(select(Escalation.id, Escalation.conversation_id, Escalation.customer_wrote_at).where(
        Escalation.channel == channel, *due)).all()
    shown = []
    for row in rows:   # still due when updated: another server, or the agent's reply, may have come first
        won = session.execute(update(Escalation).where(Escalation.id == row.id, *due)
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
            session.refresh(escalation)   # locked by the update: the note is added to what is there now
            minutes = FIRST_REPLY_SLA[Priority.URGENT]
            escalations.write_note(session, escalation, SYSTEM_AUTHOR,
                                   f"紧急接待超过 {minutes} 分钟仍未回复客户，已提醒值班主管。", at)
            alerted.append(escalation.reference)
    return alerted


# --- what an agent's console is told ------------------------------------------------------------------

@dataclass(frozen=True)
class CaseBrief:
    """An open case as the alerts need it."""

    id: int
    reference: str
    priority: str
    reason_label: str
    status: str
    assignee_id: Optional[int]
    customer_wrote_at: Optional[datetime]
    alerted: bool   # urgent, past target, the supervisors told
    answered: bool  # the agent has replied at least once


DeskState = Dict[int, CaseBrief]   # the open cases by id
NEW_CASE, CUSTOMER_WROTE, ASSIGNED, OVERDUE = "new_case", "customer_wrote", "assigned", "overdue"


@dataclass(frozen=True)
class Alert:
    kind: str   # NEW_CASE, CUSTOMER_WROTE, ASSIGNED or OVERDUE
    case: CaseBrief


def desk_state(session: Session) -> DeskState:
    """Every open case, in the columns the alerts read (one query for the whole console)."""
    rows = session.execute(select(
        Escalation.id, Escalation.reference, Escalation.priority, Escalation.reason, Escalation.status,
        Escalation.assignee_id, Escalation.customer_wrote_at, Escalation.supervisor_alerted_at,
        Escalation.first_reply_at,
    ).where(Escalation.status.in_(OPEN_ESCALATION_STATUSES))).all()
    return {row.id: CaseBrief(row.id, row.reference, row.priority, REASONS[row.reason].label, row.status,
                              row.assignee_id, local(row.customer_wrote_at), row.supervisor_alerted_at is not None,
                              row.first_reply_at is not None)
            for row in rows}


def _mine(state: DeskState, staff_id: int) -> Dict[int, CaseBrief]:
    return {case_id: case for case_id, case in state.items()
            if case.status == WITH_AGENT and case.assignee_id == staff_id}


def news(before: DeskState, after: DeskState, staff_id: int, *, supervise: bool) -> List[Alert]:
    """What one agent should hear of at once between two looks at the desk: a case joined the
    queue, a case became theirs without their claiming it (a transfer, a take-over; a claim is
    made from the case's page, which says so), a customer of theirs wrote, and for a
    supervisor, a case alerted to supervisors."""
    waiting = {case_id for case_id, case in before.items() if case.status == WAITING}
    found = [Alert(NEW_CASE, case) for case_id, case in after.items()
             if case.status == WAITING and case_id not in waiting and case_id not in before]
    mine_before, mine_after = _mine(before, staff_id), _mine(after, staff_id)
    found += [Alert(ASSIGNED, case) for case_id, case in mine_after.items()
              if case_id not in mine_before and case_id in before and before[case_id].status == WITH_AGENT]
    found += [Alert(CUSTOMER_WROTE, case) for case_id, case in mine_after.items()
              if case_id in mine_before and case.customer_wrote_at is not None
              and case.customer_wrote_at != mine_before[case_id].customer_wrote_at]
    if supervise:
        found += [Alert(OVERDUE, case) for case_id, case in sorted(after.items())
                  if case.alerted and not (case_id in before and before[case_id].alerted)]
    return found


def still_to_act_on(state: DeskState, *, supervise: bool) -> List[Alert]:
    """What a console that just connected should be told even if it happened before: the
    waiting cases and, for a supervisor, the urgent cases alerted and still unanswered.
    (The page shows each once per browser tab: static/alerts.js.)"""
    found = [Alert(NEW_CASE, case) for case in state.values() if case.status == WAITING]
    if supervise:
        found += [Alert(OVERDUE, case) for case in state.values() if case.alerted and not case.answered]
    return found
