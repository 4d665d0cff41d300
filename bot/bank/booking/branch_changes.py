"""Bookings a branch-side change leaves without a place, and telling their customers.

Two changes do it. When staff close a day or shorten its hours, the slots
that bookings still point at are kept outside the new hours
(`capacity.slots.fit_slots_to_hours`): those bookings are *stranded*. When
staff cut a day's tickets below what is booked (fewer counters open), the
bookings over the new count lose their place: the latest made go first.
Either way staff see who is affected before they confirm; then each booking
is cancelled (its ticket given back) and its customer gets a notification,
on their channel or else by SMS, with the branch's next free times for the
same service and a button to book again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import List, Optional, Sequence, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.bank.booking.counter import DeskBooking, active_in_slots, desk_bookings
from bot.bank.booking import lifecycle
from bot.bank.booking.models import Booking, BookingStatus
from bot.bank.booking.reminders import channel_user_of
from bot.bank.capacity import admin as capacity_admin
from bot.bank.capacity.admin import SlotRow
from bot.bank.capacity.models import Slot
from bot.bank.capacity.slots import next_free_slots, windows
from bot.bank.formatting import chinese_date, hm
from bot.bank.hours.admin import branch_row
from bot.bank.hours.timetable import hours_on
from bot.bank.messaging import notifications
from bot.bank.messaging.models import NotificationKind
from bot.bank.refusals import Refusal
from bot.wording import text_of

REBOOK_CHOICES = 3


@dataclass(frozen=True)
class StrandedDay:
    """One day of a branch with bookings outside its opening hours."""

    day: date
    reason: str
    bookings: Tuple[DeskBooking, ...]


def _stranded_slot_ids(session: Session, branch_id: str, day: date) -> List[int]:
    branch = branch_row(session, branch_id)
    open_windows = set(windows(hours_on(session, branch, day)))
    slots = session.execute(select(Slot).where(Slot.branch_id == branch_id, Slot.day == day)).scalars()
    return [slot.id for slot in slots if (slot.starts_at, slot.ends_at) not in open_windows]


def stranded(session: Session, branch_id: str, today: date, days: int = 14) -> List[StrandedDay]:
    """The coming days on which active bookings sit outside the branch's hours."""
    branch = branch_row(session, branch_id)
    found = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        bookings = active_in_slots(session, _stranded_slot_ids(session, branch_id, day))
        if bookings:
            found.append(StrandedDay(day, hours_on(session, branch, day).reason, tuple(bookings)))
    return found


def _message(session: Session, booking: Booking, why: str, at: datetime) -> dict:
    """Why the booking was cancelled, then the branch's next free times for the service (or another branch)."""
    slot, branch = booking.slot, booking.branch
    choices = next_free_slots(session, branch, booking.service, slot.day, at, limit=REBOOK_CHOICES)
    if choices:
        rebook = text_of("utter_notice_rebook_choices", branch=branch.name, service=booking.service,
                         choices="、".join(f"{chinese_date(c.day)} {hm(c.starts_at)}" for c in choices))
    else:
        rebook = text_of("utter_notice_rebook_elsewhere", branch=branch.name, service=booking.service)
    payload = f'/book_appointment{{"branch":"{branch.name}","service":"{booking.service}"}}'
    return {"text": why + rebook,
            "buttons": [{"title": text_of("utter_notice_rebook_button", service=booking.service), "payload": payload}]}


def _why(response: str, booking: Booking, **values: str) -> str:
    slot = booking.slot
    return text_of(response, branch=booking.branch.name, day=chinese_date(slot.day), start=hm(slot.starts_at),
                   service=booking.service, reference=booking.reference, **values)


def _cancel(session: Session, reference: str, at: datetime) -> Optional[Booking]:
    """Cancel the booking if it is still active (the customer may have cancelled or moved it
    meanwhile: then it is left alone), giving its ticket back."""
    booking = session.execute(select(Booking).where(Booking.reference == reference)).scalar_one()
    try:
        lifecycle.cancel(session, booking.customer_id, booking.reference, at)
    except Refusal:
        return None
    session.refresh(booking.slot)
    return booking


def _tell(session: Session, booking: Booking, why: str, at: datetime) -> None:
    notifications.notify(session, NotificationKind.BRANCH_CANCELLATION, booking.channel,
                         channel_user_of(session, booking), [_message(session, booking, why, at)], at=at,
                         customer_id=booking.customer_id, booking=booking.reference)


def notify_stranded(session: Session, branch_id: str, day: date, *, at: datetime) -> List[str]:
    """Cancel the day's stranded bookings and tell each customer, with rebooking choices.

    Returns the references. A booking checked in, cancelled or moved in the
    meantime is no longer stranded and is left alone.
    """
    reason = hours_on(session, branch_row(session, branch_id), day).reason or text_of("utter_notice_branch_change_reason")
    told = []
    for view in active_in_slots(session, _stranded_slot_ids(session, branch_id, day)):
        booking = _cancel(session, view.reference, at)
        if booking is None:
            continue
        booking.slot.capacity = booking.slot.booked      # outside the hours: the freed ticket is not offered
        _tell(session, booking, _why("utter_notice_branch_cancellation", booking, reason=reason), at)
        told.append(booking.reference)
    session.flush()
    return told


@dataclass(frozen=True)
class CapacityCut:
    """A day's tickets set below its bookings: the slots now, and the bookings cancelled and told."""

    rows: Tuple[SlotRow, ...]
    cancelled: Tuple[str, ...]


def over_capacity(session: Session, branch_id: str, day: date, capacity: int, *, at: datetime,
                  service: Optional[str] = None, starts_at: Optional[time] = None) -> List[DeskBooking]:
    """The bookings that lose their place if these slots take only `capacity`: in each slot
    still ahead, the active ones made last (first come, first kept; a booking moved into the
    slot counts from when it was made). Customers served or missed keep their ticket, and a
    slot already begun is left as it is. Empty when the cut fits the bookings."""
    ids: List[int] = []
    for row in capacity_admin.chosen_slots(session, branch_id, day, service, starts_at):
        if row.booked <= capacity or datetime.combine(row.day, row.starts_at) <= at.replace(tzinfo=None):
            continue
        ids += session.execute(
            select(Booking.id).where(Booking.slot_id == row.id, Booking.status == BookingStatus.ACTIVE)
            .order_by(Booking.created_at.desc(), Booking.id.desc()).limit(row.booked - capacity)
        ).scalars().all()
    return desk_bookings(session, ids)


def cut_capacity(session: Session, branch_id: str, day: date, capacity: int, *, today: date, at: datetime,
                 service: Optional[str] = None, starts_at: Optional[time] = None,
                 seen: Optional[Sequence[str]] = None) -> CapacityCut:
    """Staff confirmed the cut: cancel the bookings over it, set the tickets, then tell each
    customer, with the free times left after the cut.

    `seen` are the references staff were shown; if bookings made or cancelled since change
    who loses a place, nothing is done and staff see the new list (refusal `changed`).
    """
    over = over_capacity(session, branch_id, day, capacity, at=at, service=service, starts_at=starts_at)
    if seen is not None and sorted(view.reference for view in over) != sorted(seen):
        raise Refusal("changed", "刚才又有客户预约或取消，要取消的预约有变化，请看一下新的名单再确认。")
    cancelled = [booking for booking in (_cancel(session, view.reference, at) for view in over) if booking]
    rows = capacity_admin.set_day_capacity(session, branch_id, day, capacity, today=today, service=service,
                                           starts_at=starts_at, keep_booked=True)
    for booking in cancelled:
        _tell(session, booking, _why("utter_notice_capacity_cancellation", booking), at)
    session.flush()
    return CapacityCut(tuple(rows), tuple(booking.reference for booking in cancelled))
