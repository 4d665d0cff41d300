"""Handing a conversation to a person, and the agent's side of it.

The bot escalates with a reason; the reason fixes the priority (a stolen
card or a customer in crisis before a complaint, a complaint before a
general "转人工"). One conversation has at most one open escalation: asking
again returns the same ticket, raising its priority if the new reason is
more urgent. When no agent is on duty the customer leaves a callback
request instead, so there is never a dead end.

Everything the customer must see (an agent joined, the agent's words, the
case closed) is queued in the outbox in the same transaction as the state
change; the channel delivers it and the `resume` flag on the closing
message hands the conversation back to the bot.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Dict, List, Optional, Sequence

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.bank import references
from bot.bank.csat import surveys
from bot.bank.handoff.models import OPEN_ESCALATION_STATUSES, Escalation, EscalationNote, EscalationStatus, Priority
from bot.bank.masking import mask_phone, mask_text
from bot.bank.messaging import notifications, outbox
from bot.bank.messaging.models import NotificationKind
from bot.bank.profile import load_profile
from bot.bank.refusals import Refusal
from bot.bank.staff.models import AGENT_ROLES, Staff
from bot.clock import local
from bot.wording import render, text_of

WAITING, WITH_AGENT = EscalationStatus.WAITING, EscalationStatus.WITH_AGENT
RESOLVED, CALLBACK = EscalationStatus.RESOLVED, EscalationStatus.CALLBACK_REQUESTED
# Minutes within which an agent should first reply, by priority.
FIRST_REPLY_SLA = {Priority.URGENT: 2, Priority.HIGH: 5, Priority.NORMAL: 10}
ONLINE_WINDOW = timedelta(minutes=5)
# A case nobody has taken after this long goes back to the bot with the
# hotline, rather than leaving the customer talking to a silent window.
UNCLAIMED_LIMIT = timedelta(minutes=20)
DEFAULT_HANDLE_MINUTES = 4
MAX_REPLY_CHARS = 2000
# A typing signal (bot/bank/handoff/live.py) is shown this long; each side resends it while typing.
TYPING_FRESH = timedelta(seconds=6)


@dataclass(frozen=True)
class Reason:
    priority: Priority
    label: str


REASONS: Dict[str, Reason] = {
    "lost_card": Reason(Priority.URGENT, "银行卡丢失/被盗刷"),
    "fraud": Reason(Priority.URGENT, "疑似诈骗"),
    "distress": Reason(Priority.URGENT, "情绪危机"),
    "home_service": Reason(Priority.HIGH, "上门/特殊协助"),
    "complaint": Reason(Priority.HIGH, "投诉"),
    "hardship": Reason(Priority.HIGH, "还款困难"),
    "human": Reason(Priority.NORMAL, "转人工"),
    "fallback": Reason(Priority.NORMAL, "机器人未能理解"),
}


@dataclass(frozen=True)
class Ticket:
    """What the customer is told after escalating."""

    reference: str
    status: str
    priority: str
    reason: str
    position: int
    wait_minutes: int


@dataclass(frozen=True)
class QueueEntry:
    """One row of the console's escalation queue."""

    id: int
    reference: str
    channel: str
    reason: str
    reason_label: str
    priority: str
    status: str
    assignee: Optional[str]
    assignee_id: Optional[int]
    summary: str
    created_at: datetime
    waited_minutes: int
    sla_minutes: int
    first_reply_at: Optional[datetime]
    callback_phone: Optional[str]
    callback_window: Optional[str]

    @property
    def overdue(self) -> bool:
        """No first reply within the priority's SLA."""
        return self.first_reply_at is None and self.waited_minutes >= self.sla_minutes


@dataclass(frozen=True)
class Detail:
    """An escalation as the agent handling it sees it."""

    entry: QueueEntry
    conversation_id: str
    transcript: List[Dict[str, str]]
    notes: List[Dict[str, str]]
    close_note: Optional[str]
    customer_typing: bool


# --- availability -------------------------------------------------------------------------------

def _agent_hours() -> tuple[time, time]:
    start, end = load_profile().agent_hours.split("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def on_duty(at: datetime) -> bool:
    """Within the hours the bank staffs its online chat."""
    start, end = _agent_hours()
    return start <= at.timetz().replace(tzinfo=None) < end


CALLBACK_SOON = timedelta(hours=2)
MORNING_STARTS, AFTERNOON_STARTS = time(9), time(14)
MAX_CALLBACK_WINDOWS = 3


def callback_windows(at: datetime) -> List[str]:
    """The callback times worth offering now, earliest first, as codes
    (`soon`, `today_morning`, ...; the domain words them `utter_callback_window_<code>`).
    "Within two hours" only while agents are on duty for two more hours: never at night."""
    clock = at.timetz().replace(tzinfo=None)
    _start, end = _agent_hours()
    windows = []
    if on_duty(at) and (at + CALLBACK_SOON).timetz().replace(tzinfo=None) <= end and at.date() == (at + CALLBACK_SOON).date():
        windows.append("soon")
    if clock < MORNING_STARTS:
        windows.append("today_morning")
    if clock < AFTERNOON_STARTS:
        windows.append("today_afternoon")
    windows += ["tomorrow_morning", "tomorrow_afternoon"]
    return windows[:MAX_CALLBACK_WINDOWS]


def agents_online(session: Session, at: datetime) -> int:
    """Agents (and admins) whose console was active in the last few minutes."""
    return session.execute(
        select(func.count(Staff.id)).where(Staff.active.is_(True), Staff.role.in_(AGENT_ROLES),
                                           Staff.last_seen_at >= at - ONLINE_WINDOW)).scalar_one()


def agents_available(session: Session, *, at: datetime) -> int:
    """How many agents can take a chat now (0 out of hours)."""
    return agents_online(session, at) if on_duty(at) else 0


def touch_presence(session: Session, staff_id: int, *, at: datetime) -> None:
    """The console calls this on every request and websocket ping of an agent."""
    staff = session.get(Staff, staff_id)
    if staff is not None:
        staff.last_seen_at = at


@dataclass(frozen=True)
class Colleague:
    id: int
    name: str
    online: bool


def colleagues(session: Session, staff_id: int, *, at: datetime) -> List[Colleague]:
    """Whom a case can be transferred to: other active agents and admins, those online first."""
    people = session.execute(select(Staff).where(
        Staff.active.is_(True), Staff.role.in_(AGENT_ROLES), Staff.id != staff_id)).scalars()
    found = [Colleague(person.id, person.display_name,
                       bool(person.last_seen_at) and local(person.last_seen_at) >= at - ONLINE_WINDOW)
             for person in people]
    return sorted(found, key=lambda person: (not person.online, person.name))


# --- the customer's side --------------------------------------------------------------------------

def masked_transcript(lines: Sequence[Dict[str, str]]) -> List[Dict[str, str]]:
    """Copy of `lines` ({"role", "text", "at"}) with personal numbers masked."""
    return [{**line, "text": mask_text(line.get("text") or "")} for line in lines]


def _summary(transcript: Sequence[Dict[str, str]]) -> str:
    said = [line["text"] for line in transcript if line.get("role") == "user" and line.get("text")]
    return said[-1][:120] if said else ""


def _ahead_clause(escalation: Escalation):
    """Waiting escalations served before this one: more urgent, or as urgent and
    older (the id breaks ties between cases opened in the same instant)."""
    more_urgent = [p for p in Priority if p.rank < Priority(escalation.priority).rank]
    return and_(Escalation.status == WAITING, Escalation.id != escalation.id,
                or_(Escalation.priority.in_(more_urgent),
                    and_(Escalation.priority == escalation.priority,
                         or_(Escalation.created_at < escalation.created_at,
                             and_(Escalation.created_at == escalation.created_at, Escalation.id < escalation.id)))))


def _handle_minutes(session: Session, at: datetime) -> float:
    """Median minutes from claim to close over the last week, or a default."""
    rows = session.execute(
        select(Escalation.claimed_at, Escalation.resolved_at).where(
            Escalation.resolved_at >= at - timedelta(days=7), Escalation.claimed_at.is_not(None))).all()
    durations = [(resolved - claimed).total_seconds() / 60 for claimed, resolved in rows if resolved and claimed]
    return statistics.median(durations) if len(durations) >= 5 else DEFAULT_HANDLE_MINUTES


def _ticket(session: Session, escalation: Escalation, at: datetime) -> Ticket:
    position = session.execute(select(func.count(Escalation.id)).where(_ahead_clause(escalation))).scalar_one() + 1
    agents = max(agents_online(session, at), 1)
    wait = math.ceil(position * _handle_minutes(session, at) / agents) if escalation.status == WAITING else 0
    return Ticket(escalation.reference, escalation.status, escalation.priority, escalation.reason, position, wait)


def is_typing(moment: Optional[datetime], at: datetime) -> bool:
    """A typing signal written by another process (whose clock may differ by a few seconds) is fresh."""
    return moment is not None and abs(at - local(moment)) <= TYPING_FRESH


def open_for(session: Session, conversation_id: str, *, lock: bool = False) -> Optional[Escalation]:
    """The conversation's open case; with `lock`, its row locked until commit."""
    query = select(Escalation).where(Escalation.conversation_id == conversation_id,
                                     Escalation.status.in_(OPEN_ESCALATION_STATUSES))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.execute(query).scalars().first()


def _new_escalation(conversation_id: str, channel: str, reason: str, transcript: Sequence[Dict[str, str]],
                    customer_id: Optional[int], status: EscalationStatus, at: datetime,
                    topic: Optional[str] = None) -> Escalation:
    masked = masked_transcript(transcript)
    escalation = Escalation(reference=references.new_reference(references.ReferenceKind.CASE), conversation_id=conversation_id,
                            channel=channel, customer_id=customer_id, reason=reason,
                            priority=REASONS[reason].priority, status=status, summary=_summary(masked),
                            transcript=masked, created_at=at, search_text="", topic=topic or None)
    for line in masked:
        remember(escalation, line.get("text") or "")
    return escalation


def remember(escalation: Escalation, text: str) -> None:
    """Make `text` (masked here) findable by the case search."""
    text = mask_text(text or "").strip()
    if text:
        escalation.search_text = f"{escalation.search_text}\n{text}" if escalation.search_text else text


def open_escalation(session: Session, conversation_id: str, channel: str, reason: str,
                    transcript: Sequence[Dict[str, str]], customer_id: Optional[int] = None, *,
                    at: datetime, topic: Optional[str] = None) -> Ticket:
    """Queue the conversation for an agent; the same conversation gets its existing ticket,
    raised to the new reason's priority when that is more urgent. `topic` is the
    knowledge-base topic the customer last asked about, if any."""
    if reason not in REASONS:
        raise ValueError(f"unknown escalation reason {reason!r}")
    existing = open_for(session, conversation_id)
    if existing is None:
        try:
            with session.begin_nested():
                existing = _new_escalation(conversation_id, channel, reason, transcript, customer_id, WAITING, at,
                                           topic)
                session.add(existing)
        except IntegrityError:  # the same hand-off arrived twice at once: the other one won
            existing = open_for(session, conversation_id)
    elif REASONS[reason].priority.rank < Priority(existing.priority).rank:
        existing.priority, existing.reason = REASONS[reason].priority, reason
    session.flush()
    return _ticket(session, existing, at)


def request_callback(session: Session, conversation_id: str, channel: str, reason: str, phone: str, window: str,
                     transcript: Sequence[Dict[str, str]], customer_id: Optional[int] = None, *,
                     at: datetime, topic: Optional[str] = None) -> Ticket:
    """Record that the customer wants a call back (no agent online, or out of hours)."""
    escalation = _new_escalation(conversation_id, channel, reason, transcript, customer_id, CALLBACK, at, topic)
    escalation.callback_phone, escalation.callback_window = phone, window
    session.add(escalation)
    session.flush()
    return _ticket(session, escalation, at)


def ticket_for(session: Session, conversation_id: str, *, at: datetime) -> Optional[Ticket]:
    """The open ticket of a conversation, if any (e.g. "还要等多久")."""
    escalation = open_for(session, conversation_id)
    return _ticket(session, escalation, at) if escalation else None


# --- the agent's side -------------------------------------------------------------------------------

def queue_entry(escalation: Escalation, at: datetime) -> QueueEntry:
    """A case as the queue, the case page and the search show it."""
    waited = max(int((at - local(escalation.created_at)).total_seconds() // 60), 0)
    assignee = escalation.assignee.display_name if escalation.assignee else None
    return QueueEntry(escalation.id, escalation.reference, escalation.channel, escalation.reason,
                      REASONS[escalation.reason].label, escalation.priority, escalation.status, assignee,
                      escalation.assignee_id, escalation.summary, local(escalation.created_at), waited,
                      FIRST_REPLY_SLA[escalation.priority], local(escalation.first_reply_at),
                      escalation.callback_phone, escalation.callback_window)


def queue(session: Session, statuses: Sequence[EscalationStatus] = (WAITING, WITH_AGENT, CALLBACK), *,
          at: datetime) -> List[QueueEntry]:
    """Open work, most urgent first, then longest waiting."""
    rows = session.execute(select(Escalation).where(Escalation.status.in_(statuses))).scalars().all()
    ordered = sorted(rows, key=lambda row: (Priority(row.priority).rank, row.created_at, row.id))
    return [queue_entry(row, at) for row in ordered]


def detail(session: Session, escalation_id: int, *, at: datetime) -> Detail:
    escalation = get_escalation(session, escalation_id)
    notes = [{"author": note.author, "text": note.text, "at": note.created_at.isoformat()}
             for note in escalation.notes]
    typing = escalation.status == WITH_AGENT and is_typing(escalation.customer_typing_at, at)
    return Detail(queue_entry(escalation, at), escalation.conversation_id, list(escalation.transcript or []),
                  notes, escalation.close_note, typing)


def get_escalation(session: Session, escalation_id: int, *, lock: bool = False) -> Escalation:
    """The case; with `lock`, its row locked until commit, so two people acting on it at the same
    moment (a claim and a take-over, a close and a reply) take turns and the second sees what the
    first left (PostgreSQL; SQLite serialises writers anyway)."""
    escalation = (session.get(Escalation, escalation_id, with_for_update=True, populate_existing=True) if lock
                  else session.get(Escalation, escalation_id))
    if escalation is None:
        raise Refusal("not_found", "没有找到这条人工接待记录，可能链接有误。请回到队列查看。")
    return escalation


def _staff(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active or staff.role not in AGENT_ROLES:
        raise Refusal("invalid", "请选择另一位在岗的同事（客服坐席或管理员）。")
    return staff


def agent_title(staff: Staff) -> str:
    """How the customer addresses the agent: surname + 客服 (王客服), never the full name."""
    return text_of("utter_agent_title", surname=staff.display_name.strip()[:1])


def _tell(session: Session, escalation: Escalation, kind: str, messages: List[dict], at: datetime,
          resume: bool = False) -> None:
    outbox.queue(session, escalation.channel, escalation.conversation_id, kind, messages, at=at, resume=resume,
                 escalation=escalation.reference)


def write_note(session: Session, escalation: Escalation, author: str, text: str, at: datetime) -> None:
    """A timestamped, signed line on the case: internal notes and the trail of who did what."""
    session.add(EscalationNote(escalation_id=escalation.id, author=author, text=text, created_at=at))
    remember(escalation, text)


def claim(session: Session, escalation_id: int, staff_id: int, *, at: datetime) -> None:
    """Take a waiting case (an agent re-claiming their own case is a no-op)."""
    escalation, staff = get_escalation(session, escalation_id, lock=True), _staff(session, staff_id)
    if escalation.status == WITH_AGENT and escalation.assignee_id == staff.id:
        return
    if escalation.status != WAITING:
        raise (Refusal("taken", "这位客户已经由同事接入了。请回到队列接待下一位。") if escalation.status == WITH_AGENT
               else _closed())
    escalation.status, escalation.assignee_id, escalation.claimed_at = WITH_AGENT, staff.id, at
    title = agent_title(staff)
    tell_joined(session, escalation, title, render("utter_agent_joined", agent=title), at)


def tell_joined(session: Session, escalation: Escalation, title: str, greeting: dict, at: datetime) -> None:
    """Tell the customer who is with them now: the widget's marker and the person's greeting."""
    _tell(session, escalation, "handoff_joined", [
        {"custom": {"handoff": "joined", "agent": title}}, _from_agent(greeting, title)], at)


def _closed() -> Refusal:
    return Refusal("closed", "这次接待已经结束（或已转为回电），不能再操作。")


def _not_yours() -> Refusal:
    return Refusal("not_yours", "这位客户目前不由你接待（还没接入，或已转给同事），不能替别人回复或操作。")


def own_case(session: Session, escalation_id: int, staff_id: int) -> tuple[Escalation, Staff]:
    """The agent's own open case, locked for what they do with it."""
    escalation, staff = get_escalation(session, escalation_id, lock=True), _staff(session, staff_id)
    if escalation.status != WITH_AGENT:
        raise _closed() if escalation.status in (RESOLVED, CALLBACK) else _not_yours()
    if escalation.assignee_id != staff.id:
        raise _not_yours()
    return escalation, staff


def _clean(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise Refusal("invalid", "请先填写内容。")
    if len(text) > MAX_REPLY_CHARS:
        raise Refusal("invalid", f"内容太长了，请控制在 {MAX_REPLY_CHARS} 字以内，可以分几条发。")
    return text


def reply(session: Session, escalation_id: int, staff_id: int, text: str, *, at: datetime) -> None:
    """The agent's answer, delivered on the customer's channel."""
    text = _clean(text)
    escalation, staff = own_case(session, escalation_id, staff_id)
    escalation.first_reply_at = escalation.first_reply_at or at
    escalation.agent_typing_at = None   # the reply ends the "typing" the customer sees
    remember(escalation, text)
    title = agent_title(staff)
    notifications.notify(session, NotificationKind.AGENT_REPLY, escalation.channel, escalation.conversation_id,
                         [{"text": text, "metadata": {"agent": title}}], at=at, outbox_kind="agent_message",
                         text=text_of("utter_notice_agent_reply", agent=title, text=text),
                         customer_id=escalation.customer_id, escalation=escalation.reference)


def send_file(session: Session, escalation: Escalation, staff: Staff, name: str, file: dict,
              at: datetime) -> None:
    """The agent's file (bot/bank/handoff/attachments.py), sent to the customer like a reply: signed,
    on their channel, by SMS (saying so) if the channel cannot reach them any more."""
    title, said = agent_title(staff), text_of("utter_agent_sent_file", file_name=name)
    escalation.agent_typing_at = None
    notifications.notify(session, NotificationKind.AGENT_REPLY, escalation.channel, escalation.conversation_id,
                         [{"text": said, "metadata": {"agent": title, "file": file}}], at=at,
                         outbox_kind="agent_message", text=text_of("utter_notice_agent_file", agent=title, file_name=name),
                         customer_id=escalation.customer_id, escalation=escalation.reference)


def add_note(session: Session, escalation_id: int, staff_id: int, text: str, *, at: datetime) -> None:
    """An internal note: staff only, never sent to the customer."""
    text = _clean(text)
    escalation = get_escalation(session, escalation_id)
    write_note(session, escalation, session.get(Staff, staff_id).display_name, text, at)


def transfer(session: Session, escalation_id: int, staff_id: int, to_staff_id: int, *, at: datetime) -> None:
    """Hand the case to another agent, who takes it over at once."""
    escalation, staff = own_case(session, escalation_id, staff_id)
    target = _staff(session, to_staff_id)
    if target.id == staff.id:
        raise Refusal("invalid", "请选择另一位在岗的同事（客服坐席或管理员）。")
    escalation.assignee_id = target.id
    write_note(session, escalation, staff.display_name, f"转给 {target.display_name}", at)
    title = agent_title(target)
    tell_joined(session, escalation, title, render("utter_agent_transferred", agent=title), at)


def _from_agent(message: dict, title: str) -> dict:
    """The agent's own greeting: the widget shows it under the agent's title."""
    return {**message, "metadata": {**message.get("metadata", {}), "agent": title}}


def close(session: Session, escalation_id: int, staff_id: int, note: str = "", *, at: datetime) -> None:
    """Resolve the case and hand the conversation back to the bot with a short
    note (and the satisfaction question, unless asked already today)."""
    escalation, staff = own_case(session, escalation_id, staff_id)
    escalation.status, escalation.resolved_at = RESOLVED, at
    escalation.close_note = note.strip() or None
    remember(escalation, note)
    messages = [{"custom": {"handoff": "left", "agent": agent_title(staff)}}, render("utter_agent_left")]
    if surveys.ask(session, escalation.conversation_id, escalation.channel, escalation.customer_id,
                   escalation.id, at=at):
        messages.append(surveys.question())
    _tell(session, escalation, "handoff_closed", messages, at, resume=True)


def finish_callback(session: Session, escalation_id: int, staff_id: int, reached: bool, note: str = "", *,
                    at: datetime) -> None:
    """Record the outcome of a callback; unreached ones stay visible to try again later, and the
    customer is told we tried (on their channel, else by template or SMS)."""
    escalation, staff = get_escalation(session, escalation_id, lock=True), _staff(session, staff_id)
    if escalation.status != CALLBACK:
        raise Refusal("not_callback", "这条记录不是待回电的请求，不能登记回电结果。")
    outcome = "已回电，联系上客户" if reached else "已回电，未接通"
    write_note(session, escalation, staff.display_name, f"{outcome}{'：' + note.strip() if note.strip() else ''}", at)
    if reached:
        escalation.status, escalation.callback_reached_at, escalation.resolved_at = RESOLVED, at, at
        escalation.assignee_id = staff.id
        return
    missed = text_of("utter_notice_callback_failed", phone=mask_phone(escalation.callback_phone or ""),
                 hotline=load_profile().hotline)
    notifications.notify(session, NotificationKind.CALLBACK_FAILED, escalation.channel, escalation.conversation_id,
                         [{"text": missed}], at=at, customer_id=escalation.customer_id,
                         escalation=escalation.reference)


def release_unclaimed(session: Session, channel: str, *, at: datetime) -> int:
    """Hand long-unclaimed cases of `channel` back to the bot, with an apology and the hotline."""
    stale = session.execute(select(Escalation).where(
        Escalation.channel == channel, Escalation.status == WAITING,
        Escalation.created_at < at - UNCLAIMED_LIMIT)).scalars().all()
    for escalation in stale:
        escalation.status, escalation.resolved_at = RESOLVED, at
        escalation.close_note = "无人接入，已自动转回智能助手并提供热线"
        apology = "utter_handoff_unclaimed_distress" if escalation.reason == "distress" else "utter_handoff_unclaimed"
        # No agent ever joined: the widget must not say one left.
        _tell(session, escalation, "handoff_unclaimed", [
            {"custom": {"handoff": "unclaimed"}}, render(apology)], at, resume=True)
    return len(stale)
