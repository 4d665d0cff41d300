"""The duty supervisor's view of the hand-off desk, and taking a case over.

A supervisor (an admin account in the console) needs to see at a glance
which agent has which case and for how long, which customers have waited
past the first-reply target, and who is at their console; and to step in
when an agent is stuck or away. Taking over moves the case to the
supervisor the way a transfer does (the customer is greeted by the new
person on their own channel), and leaves a note on the case naming who
took it from whom and when: the case's notes are its audit trail, written
in the same transaction and never edited.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from bot.bank.handoff import escalations
from bot.bank.handoff.escalations import ONLINE_WINDOW, WAITING, WITH_AGENT, QueueEntry
from bot.bank.handoff.models import Escalation, Priority
from bot.bank.refusals import Refusal
from bot.bank.staff.models import AGENT_ROLES, Staff, StaffRole
from bot.clock import local
from bot.wording import render

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Case:
    entry: QueueEntry
    claimed_minutes: Optional[int]  # since an agent first took it; None while it waits


@dataclass(frozen=True)
class AgentLoad:
    id: int
    name: str
    active: bool                       # False: the account was disabled while it still had chats
    online: bool
    last_seen_minutes: Optional[int]   # None: never signed in
    cases: List[Case]


@dataclass(frozen=True)
class Board:
    agents: List[AgentLoad]        # online first, then the busiest
    past_target: List[Case]        # no first reply yet and the priority's target passed, oldest first
    waiting: int                   # cases nobody has claimed


def _minutes(since: Optional[datetime], at: datetime) -> Optional[int]:
    return None if since is None else max(int((at - local(since)).total_seconds() // 60), 0)


def _case(escalation: Escalation, at: datetime) -> Case:
    taken = escalation.claimed_at if escalation.status == WITH_AGENT else None
    return Case(escalations.queue_entry(escalation, at), _minutes(taken, at))


def board(session: Session, *, at: datetime) -> Board:
    """Open chats (callbacks are not live work) and every active agent, as of `at`."""
    open_cases = session.execute(select(Escalation).where(Escalation.status.in_((WAITING, WITH_AGENT)))).scalars()
    cases = sorted((_case(escalation, at) for escalation in open_cases),
                   key=lambda case: (Priority(case.entry.priority).rank, case.entry.created_at, case.entry.id))
    by_agent: Dict[int, List[Case]] = {}
    for case in cases:
        if case.entry.assignee_id is not None:
            by_agent.setdefault(case.entry.assignee_id, []).append(case)
    people = session.execute(select(Staff).where(or_(
        and_(Staff.active.is_(True), Staff.role.in_(AGENT_ROLES)), Staff.id.in_(list(by_agent))))).scalars()
    agents = [AgentLoad(person.id, person.display_name, bool(person.active),
                        bool(person.last_seen_at) and local(person.last_seen_at) >= at - ONLINE_WINDOW,
                        _minutes(person.last_seen_at, at), by_agent.get(person.id, []))
              for person in people]
    agents.sort(key=lambda agent: (not agent.online, -len(agent.cases), agent.name))
    past_target = sorted((case for case in cases if case.entry.overdue), key=lambda case: case.entry.created_at)
    return Board(agents, past_target, sum(case.entry.status == WAITING for case in cases))


def take_over(session: Session, escalation_id: int, supervisor_id: int, *, at: datetime) -> None:
    """The supervisor takes an open chat: from its agent, or straight from the queue."""
    # Locked: an agent's close or a second supervisor's take-over at the same moment waits.
    escalation = escalations.get_escalation(session, escalation_id, lock=True)
    supervisor = session.get(Staff, supervisor_id)
    if supervisor is None or not supervisor.active or supervisor.role != StaffRole.ADMIN:
        raise Refusal("forbidden", "只有值班主管（管理员）才能接管接待。")
    if escalation.status not in (WAITING, WITH_AGENT):
        raise Refusal("closed", "这次接待已经结束（或已转为回电），不能再接管。")
    if escalation.assignee_id == supervisor.id and escalation.status == WITH_AGENT:
        raise Refusal("invalid", "这位客户已经由你接待了。")
    previous = escalation.assignee if escalation.status == WITH_AGENT else None
    escalation.status, escalation.assignee_id = WITH_AGENT, supervisor.id
    escalation.claimed_at = escalation.claimed_at or at
    took_from = f"从{previous.display_name}手中" if previous else "从队列中直接"
    escalations.write_note(session, escalation, supervisor.display_name, f"{took_from}接管了这次接待", at)
    title = escalations.agent_title(supervisor)
    escalations.tell_joined(session, escalation, title,
                            render("utter_agent_transferred" if previous else "utter_agent_joined", agent=title), at)
    logger.info("escalation %s taken over by staff %s from staff %s", escalation.reference, supervisor.id,
                previous.id if previous else "none (queue)")
