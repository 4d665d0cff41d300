"""The insights' queries on the bank database: hand-offs, callbacks, surveys,
deferral requests, bookings and the tickets offered.

Each function reads inside the caller's transaction and returns plain
figures; bot.bank.insights puts them together. Stored timestamps go through
`bot.clock.local` (SQLite gives naive Shanghai time, PostgreSQL aware time).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional, Tuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.bank.capacity.slots import capacity_for, windows
from bot.bank.hours.timetable import all_branches, hours_on
from bot.bank.models import (
    Booking,
    BookingStatus,
    Branch,
    CsatSurvey,
    DeferralRequest,
    Escalation,
    EscalationTag,
    Notification,
    NotificationStatus,
    Slot,
)
from bot.clock import local
from bot.insights.figures import Period

SATISFIED_FROM = 4      # scores 4 and 5 count as satisfied (the usual CSAT reading of a 1-5 scale)


@dataclass(frozen=True)
class Handoff:
    """One escalation, with its times as aware Shanghai time."""

    conversation_id: str
    channel: str
    reason: str
    priority: str
    status: str
    callback: bool                  # a callback request (no agent was online), not a live chat
    created_at: datetime
    first_reply_at: Optional[datetime]
    resolved_at: Optional[datetime]
    by_agent: bool                  # an agent took it (unclaimed cases handed back to the bot are not)
    reached_at: Optional[datetime]
    tags: Tuple[str, ...] = ()      # the labels staff gave the case


@dataclass(frozen=True)
class Survey:
    asked_at: datetime
    score: Optional[int]

    @property
    def satisfied(self) -> bool:
        return self.score is not None and self.score >= SATISFIED_FROM


@dataclass(frozen=True)
class Deferral:
    status: str
    created_at: datetime
    decided_at: Optional[datetime]


@dataclass(frozen=True)
class BranchBookings:
    """Bookings for appointments on the period's days at one branch."""

    branch_id: str
    name: str
    capacity: int
    by_status: Dict[str, int]


def handoffs(session: Session, since: datetime) -> List[Handoff]:
    """Escalations created since `since`: those of the period, and later ones
    that may still belong to a conversation begun in it."""
    rows = session.execute(select(
        Escalation.conversation_id, Escalation.channel, Escalation.reason, Escalation.priority, Escalation.status,
        Escalation.callback_phone, Escalation.created_at, Escalation.first_reply_at, Escalation.resolved_at,
        Escalation.assignee_id, Escalation.callback_reached_at, Escalation.id,
    ).where(Escalation.created_at >= since).order_by(Escalation.id))
    tagged: Dict[int, List[str]] = {}
    for escalation_id, tag in session.execute(
            select(EscalationTag.escalation_id, EscalationTag.tag).join(Escalation)
            .where(Escalation.created_at >= since).order_by(EscalationTag.tag)):
        tagged.setdefault(escalation_id, []).append(tag)
    return [Handoff(row.conversation_id, row.channel, row.reason, row.priority, row.status,
                    row.callback_phone is not None, local(row.created_at), local(row.first_reply_at),
                    local(row.resolved_at), row.assignee_id is not None, local(row.callback_reached_at),
                    tuple(tagged.get(row.id, ())))
            for row in rows]


def surveys(session: Session, period: Period, channel: Optional[str]) -> List[Survey]:
    """Satisfaction questions asked in the period."""
    query = select(CsatSurvey.asked_at, CsatSurvey.score).where(
        CsatSurvey.asked_at >= period.start, CsatSurvey.asked_at < period.end)
    if channel:
        query = query.where(CsatSurvey.channel == channel)
    return [Survey(local(asked), score) for asked, score in session.execute(query)]


def deferrals(session: Session, period: Period, channel: Optional[str]) -> List[Deferral]:
    """Deferral requests submitted in the period."""
    query = select(DeferralRequest.status, DeferralRequest.created_at, DeferralRequest.decided_at).where(
        DeferralRequest.created_at >= period.start, DeferralRequest.created_at < period.end)
    if channel:
        query = query.where(DeferralRequest.channel == channel)
    return [Deferral(status, local(created), local(decided)) for status, created, decided in session.execute(query)]


def _tickets_offered(session: Session, branch: Branch, period: Period,
                     existing: Dict[Tuple[str, object, object], int]) -> int:
    """Tickets the branch offered over the period: every half-hour window of
    its opening hours, for every service it offers, at the slot's capacity
    where a slot exists (staff may have lowered it) and else at the
    capacity new slots would get. Slots are only created when somebody asks
    for a day, so the slots table alone would miss the days nobody asked about.
    """
    defaults = {service: capacity_for(session, branch.id, service) for service in branch.services or []}
    total = 0
    for day in period.days():
        for starts, _ends in windows(hours_on(session, branch, day)):
            total += sum(existing.get((service, day, starts), default) for service, default in defaults.items())
    return total


def branch_bookings(session: Session, period: Period, branch_id: Optional[str],
                    channel: Optional[str]) -> List[BranchBookings]:
    """Per branch (all, or the one asked for): bookings by status and tickets offered."""
    branches = all_branches(session)          # in the order every branch picker uses
    if branch_id:
        branches = [branch for branch in branches if branch.id == branch_id]
    counts = select(Booking.branch_id, Booking.status, func.count(Booking.id)).join(Slot).where(
        Slot.day >= period.first, Slot.day <= period.last).group_by(Booking.branch_id, Booking.status)
    if channel:
        counts = counts.where(Booking.channel == channel)
    by_branch: Dict[str, Dict[str, int]] = {}
    for branch, status, count in session.execute(counts):
        by_branch.setdefault(branch, {})[status] = count
    slots: Dict[str, Dict[Tuple[str, object, object], int]] = {}
    for row in session.execute(select(Slot.branch_id, Slot.service, Slot.day, Slot.starts_at, Slot.capacity)
                               .where(Slot.day >= period.first, Slot.day <= period.last)):
        slots.setdefault(row.branch_id, {})[(row.service, row.day, row.starts_at)] = row.capacity
    return [BranchBookings(branch.id, branch.name, _tickets_offered(session, branch, period, slots.get(branch.id, {})),
                           by_branch.get(branch.id, {}))
            for branch in branches]


def settled_by_reminder(session: Session, period: Period, branch_id: Optional[str],
                        channel: Optional[str]) -> Dict[bool, Dict[str, int]]:
    """Visits settled at the counter (checked in or no-show) on the period's days, by status, split
    by whether the day-before reminder reached the customer (True) or not (False)."""
    query = (select(Notification.status, Booking.status, func.count(Booking.id))
             .select_from(Booking).join(Slot, Slot.id == Booking.slot_id)
             .outerjoin(Notification, Notification.id == Booking.reminder_id)
             .where(Slot.day >= period.first, Slot.day <= period.last,
                    Booking.status.in_([BookingStatus.CHECKED_IN, BookingStatus.NO_SHOW]))
             .group_by(Notification.status, Booking.status))
    if branch_id:
        query = query.where(Booking.branch_id == branch_id)
    if channel:
        query = query.where(Booking.channel == channel)
    split: Dict[bool, Dict[str, int]] = {True: {}, False: {}}
    for reminder, status, count in session.execute(query):
        reached = reminder == NotificationStatus.DELIVERED
        split[reached][str(status)] = split[reached].get(str(status), 0) + count
    return split


def held(by_status: Dict[str, int]) -> int:
    """Bookings still meant for a counter visit: all but the cancelled ones."""
    return sum(count for status, count in by_status.items() if status != BookingStatus.CANCELLED)


def counter_bookings(session: Session, period: Period, channel: Optional[str]) -> int:
    """Held bookings, bank-wide, for appointments on the period's days."""
    query = select(func.count(Booking.id)).join(Slot).where(
        Slot.day >= period.first, Slot.day <= period.last, Booking.status != BookingStatus.CANCELLED)
    if channel:
        query = query.where(Booking.channel == channel)
    return session.execute(query).scalar_one()

