"""Appointment slots (号源) made from opening hours, and how many tickets each has.

Slots are materialised lazily from a branch's opening hours: half-hour
windows between opening and closing, skipping lunch. Each slot has a
capacity (tickets): staff's rule for the service, else for the branch, else
the bank's default. When a day's hours change, `fit_slots_to_hours` makes
the slots already created agree with them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import List, Optional, Set

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.bank.booking.models import Booking
from bot.bank.capacity.models import CapacityRule, Slot
from bot.bank.hours.models import Branch
from bot.bank.hours.schedule import known_until
from bot.bank.hours.timetable import DayHours, hours_on
from bot.bank.profile import load_profile

SLOT_MINUTES = 30
DEFAULT_CAPACITY = 4


@dataclass(frozen=True)
class SlotView:
    """A bookable window as shown to a customer."""

    id: int
    branch_id: str
    service: str
    day: date
    starts_at: time
    ends_at: time
    left: int


def _view(slot: Slot) -> SlotView:
    return SlotView(slot.id, slot.branch_id, slot.service, slot.day, slot.starts_at, slot.ends_at,
                    slot.capacity - slot.booked)


def windows(hours: DayHours) -> List[tuple]:
    """Half-hour windows of an open day, none overlapping the lunch break."""
    if not hours.is_open:
        return []
    result, start = [], datetime.combine(hours.day, hours.opens)
    closing = datetime.combine(hours.day, hours.closes)
    while start + timedelta(minutes=SLOT_MINUTES) <= closing:
        end = start + timedelta(minutes=SLOT_MINUTES)
        lunch = hours.lunch
        if not (lunch and start.time() < lunch[1] and end.time() > lunch[0]):
            result.append((start.time(), end.time()))
        start = end
    return result


def capacity_for(session: Session, branch_id: str, service: str) -> int:
    """Staff's rule for the service, else for the branch, else the default."""
    rules = {
        rule.service: rule.capacity
        for rule in session.execute(select(CapacityRule).where(CapacityRule.branch_id == branch_id)).scalars()
    }
    return rules.get(service, rules.get(None, DEFAULT_CAPACITY))


def ensure_slots(session: Session, branch: Branch, service: str, day: date) -> List[Slot]:
    """The day's slots for the service, created from opening hours if missing."""
    existing = {
        slot.starts_at: slot
        for slot in session.execute(
            select(Slot).where(Slot.branch_id == branch.id, Slot.service == service, Slot.day == day)
        ).scalars()
    }
    capacity = capacity_for(session, branch.id, service)
    for starts, ends in windows(hours_on(session, branch, day)):
        if starts not in existing:
            slot = Slot(branch_id=branch.id, service=service, day=day, starts_at=starts, ends_at=ends,
                        capacity=capacity, booked=0)
            try:
                with session.begin_nested():
                    session.add(slot)
            except IntegrityError:  # another process created it first
                slot = session.execute(
                    select(Slot).where(Slot.branch_id == branch.id, Slot.service == service,
                                       Slot.day == day, Slot.starts_at == starts)
                ).scalar_one()
            existing[starts] = slot
    return sorted(existing.values(), key=lambda slot: slot.starts_at)


def free_slots(session: Session, branch: Branch, service: str, day: date,
               after: Optional[datetime] = None) -> List[SlotView]:
    """Slots of the day that still have tickets and have not started yet."""
    slots = ensure_slots(session, branch, service, day)
    cutoff = after.replace(tzinfo=None) if after else None
    return [
        _view(slot) for slot in slots
        if slot.booked < slot.capacity
        and (cutoff is None or datetime.combine(slot.day, slot.starts_at) > cutoff)
    ]


def bookable_until(session: Session, today: date) -> date:
    """The last day customers can book: the bank profile's horizon from today,
    and no later than the end of the known holiday schedule unless the
    profile allows booking past it (a day there may turn out to be a holiday)."""
    profile = load_profile()
    horizon = today + timedelta(days=profile.booking_horizon_days - 1)
    return horizon if profile.book_past_known_holidays else min(horizon, known_until(session, today))


def next_free_slots(session: Session, branch: Branch, service: str, start_day: date,
                    after: datetime, limit: int = 4) -> List[SlotView]:
    """The earliest free slots from `start_day` on, up to the last bookable day."""
    found: List[SlotView] = []
    day = start_day
    last_day = bookable_until(session, after.date())
    while day <= last_day:
        found += free_slots(session, branch, service, day, after)
        day += timedelta(days=1)
        if len(found) >= limit:
            break
    return found[:limit]


def fit_slots_to_hours(session: Session, branch: Branch, day: date) -> Set[int]:
    """Make the day's existing slots agree with its hours; return the ids of
    the slots now outside them that bookings still point at.

    Slots are created lazily, so a day customers already looked at has rows
    from the old hours. Empty ones are deleted (recreated on demand if the
    hours come back); ones that any booking points at are kept, so history
    stays intact, but take no more tickets. Rows are locked first so that a
    booking in flight cannot land in a slot being deleted.
    """
    open_windows = set(windows(hours_on(session, branch, day)))
    slots = session.execute(
        select(Slot).where(Slot.branch_id == branch.id, Slot.day == day).with_for_update()
    ).scalars().all()
    outside = [slot for slot in slots if (slot.starts_at, slot.ends_at) not in open_windows]
    if not outside:
        return []
    referenced = set(session.execute(
        select(Booking.slot_id).where(Booking.slot_id.in_([slot.id for slot in outside]))
    ).scalars())
    for slot in outside:
        if slot.id in referenced:
            slot.capacity = slot.booked
        else:
            session.delete(slot)
    session.flush()
    return referenced
