"""Bookings a branch-side change leaves stranded, and telling their customers.

When staff close a day or shorten its hours, the slots that bookings still
point at are kept outside the new hours (`capacity.slots.fit_slots_to_hours`):
those bookings are *stranded*. Staff see them on the branch's page; when
they confirm, each is cancelled (its ticket given back) and its customer
gets a notification, on their channel or else by SMS, with the branch's
next free times for the same service and a button to book again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import List, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.bank.booking.counter import DeskBooking, active_in_slots
from bot.bank.booking import lifecycle
from bot.bank.booking.models import Booking
from bot.bank.booking.reminders import channel_user_of
from bot.bank.capacity.models import Slot
from bot.bank.capacity.slots import next_free_slots, windows
from bot.bank.formatting import chinese_date, hm
from bot.bank.hours.admin import branch_row
from bot.bank.hours.timetable import hours_on
from bot.bank.messaging import notifications
from bot.bank.messaging.models import NotificationKind
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


def _message(session: Session, booking: Booking, reason: str, at: datetime) -> dict:
    slot, branch = booking.slot, booking.branch
    values = dict(branch=branch.name, day=chinese_date(slot.day), start=hm(slot.starts_at), service=booking.service,
                  reference=booking.reference, reason=reason or text_of("utter_notice_branch_change_reason"))
    choices = next_free_slots(session, branch, booking.service, slot.day, at, limit=REBOOK_CHOICES)
    if choices:
        text = text_of("utter_notice_branch_cancellation", **values,
                   choices="、".join(f"{chinese_date(c.day)} {hm(c.starts_at)}" for c in choices))
    else:
        text = text_of("utter_notice_branch_cancellation_no_slots", **values)
    payload = f'/book_appointment{{"branch":"{branch.name}","service":"{booking.service}"}}'
    return {"text": text, "buttons": [{"title": text_of("utter_notice_rebook_button", service=booking.service), "payload": payload}]}


def notify_stranded(session: Session, branch_id: str, day: date, *, at: datetime) -> List[str]:
    """Cancel the day's stranded bookings and tell each customer, with rebooking choices.

    Returns the references. A booking checked in, cancelled or moved in the
    meantime is no longer stranded and is left alone.
    """
    reason = hours_on(session, branch_row(session, branch_id), day).reason
    told = []
    for view in active_in_slots(session, _stranded_slot_ids(session, branch_id, day)):
        booking = session.execute(select(Booking).where(Booking.reference == view.reference)).scalar_one()
        lifecycle.cancel(session, booking.customer_id, booking.reference, at)
        session.refresh(booking.slot)
        booking.slot.capacity = booking.slot.booked      # outside the hours: the freed ticket is not offered
        message = _message(session, booking, reason, at)
        notifications.notify(session, NotificationKind.BRANCH_CANCELLATION, booking.channel,
                             channel_user_of(session, booking), [message], at=at, customer_id=booking.customer_id,
                             booking=booking.reference)
        told.append(booking.reference)
    session.flush()
    return told
