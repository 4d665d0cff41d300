"""A customer's bookings under daily quotas: book, cancel, reschedule.

A booking takes a ticket with one conditional UPDATE
(`booked = booked + 1 WHERE booked < capacity`), which the database applies
atomically, and a CHECK constraint forbids overbooking outright. A partial
unique index allows one active booking per customer, service and party, so
a repeated request returns the first booking instead of a second.
Co-applicants (a borrower and a co-borrower signing one loan) are booked
into different slots, so that they do not crowd one counter.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import List, Optional, Set

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.bank import references
from bot.bank.booking.models import Booking, BookingStatus
from bot.bank.capacity.models import Slot
from bot.bank.refusals import Refusal


SELF = "本人"
# What to bring, by service: the words are the domain's responses `utter_bring_<key>`.
BRING_KEYS = {"面签": "signing", "提前还款": "early_repayment", "贷后变更": "loan_change", "开户": "new_account",
              "大额取现": "large_withdrawal", "存款": "cash_deposit", "挂失补卡": "card_replacement",
              "其他": "other"}


@dataclass(frozen=True)
class BookingView:
    reference: str
    branch_name: str
    address: str
    service: str
    party: str
    day: date
    starts_at: time
    ends_at: time
    status: str
    created: bool = True  # False when an identical active booking was returned


def booking_view(booking: Booking, created: bool = True) -> BookingView:
    slot = booking.slot
    return BookingView(booking.reference, booking.branch.name, booking.branch.address, booking.service,
                       booking.party, slot.day, slot.starts_at, slot.ends_at, booking.status, created)


def new_reference() -> str:
    return references.new_reference(references.ReferenceKind.BOOKING)


def _take_ticket(session: Session, slot_id: int) -> bool:
    """Atomically take one ticket; False when the slot is full."""
    result = session.execute(
        update(Slot).where(Slot.id == slot_id, Slot.booked < Slot.capacity)
        .values(booked=Slot.booked + 1).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _release_ticket(session: Session, slot_id: int) -> None:
    session.execute(
        update(Slot).where(Slot.id == slot_id, Slot.booked > 0)
        .values(booked=Slot.booked - 1).execution_options(synchronize_session=False)
    )


def active_booking(session: Session, customer_id: int, service: str, party: str = SELF) -> Optional[Booking]:
    return session.execute(
        select(Booking).where(Booking.customer_id == customer_id, Booking.service == service,
                              Booking.party == party, Booking.status == BookingStatus.ACTIVE)
    ).scalar_one_or_none()


def book(session: Session, customer_id: int, slot_id: int, channel: str, when: datetime,
         party: str = SELF) -> BookingView:
    """Book a ticket in the slot; an existing active booking of the same
    customer, service and party is returned unchanged (idempotent retries).

    Raises Refusal("full") when no ticket is left, ("gone") for an
    unknown or past slot, ("taken") when the other party of a joint booking
    already holds this very slot.
    """
    slot = session.get(Slot, slot_id)
    if slot is None or datetime.combine(slot.day, slot.starts_at) <= when.replace(tzinfo=None):
        raise Refusal("gone")
    existing = active_booking(session, customer_id, slot.service, party)
    if existing is not None:
        return booking_view(existing, created=False)
    if party != SELF and slot.id in held_slot_ids(session, customer_id):
        raise Refusal("taken")
    if not _take_ticket(session, slot.id):
        raise Refusal("full")
    booking = Booking(reference=new_reference(), customer_id=customer_id, party=party,
                      branch_id=slot.branch_id, service=slot.service, slot_id=slot.id,
                      status=BookingStatus.ACTIVE, channel=channel, created_at=when)
    try:
        with session.begin_nested():
            session.add(booking)
    except IntegrityError:  # a concurrent identical request won the race
        _release_ticket(session, slot.id)
        return booking_view(active_booking(session, customer_id, slot.service, party), created=False)
    session.refresh(slot)
    return booking_view(booking)


def held_slot_ids(session: Session, customer_id: Optional[int]) -> Set[int]:
    """Slots the customer's active bookings hold.

    Joint applicants are staggered on purpose: a co-applicant is never
    booked into a slot the customer already holds, and is not offered one.
    """
    if customer_id is None:
        return set()
    return {booking.slot_id for booking in active_bookings(session, customer_id)}


def active_bookings(session: Session, customer_id: int) -> List[Booking]:
    return list(session.execute(
        select(Booking).where(Booking.customer_id == customer_id, Booking.status == BookingStatus.ACTIVE)
    ).scalars())


def bookings_of(session: Session, customer_id: int, today: date) -> List[BookingView]:
    """The customer's active bookings from today on, soonest first."""
    rows = session.execute(
        select(Booking).join(Slot).where(Booking.customer_id == customer_id, Booking.status == BookingStatus.ACTIVE,
                                         Slot.day >= today).order_by(Slot.day, Slot.starts_at)
    ).scalars()
    return [booking_view(row) for row in rows]


def _owned(session: Session, customer_id: int, reference: str) -> Booking:
    """The customer's booking, locked and read afresh: on PostgreSQL a cancel or move made
    meanwhile by the customer or by staff is seen, so a ticket is never given back twice."""
    booking = session.execute(
        select(Booking).where(Booking.reference == references.canonical(reference), Booking.customer_id == customer_id)
        .with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if booking is None or booking.status != BookingStatus.ACTIVE:
        raise Refusal("not_found")
    return booking


def cancel(session: Session, customer_id: int, reference: str, when: datetime) -> BookingView:
    """Cancel an active booking and give its ticket back."""
    booking = _owned(session, customer_id, reference)
    booking.status, booking.cancelled_at = BookingStatus.CANCELLED, when
    _release_ticket(session, booking.slot_id)
    session.flush()
    return booking_view(booking)


def reschedule(session: Session, customer_id: int, reference: str, new_slot_id: int,
               when: datetime) -> BookingView:
    """Move a booking to another slot: the new ticket is taken before the old
    one is released, in one transaction, so a full slot leaves it unchanged."""
    booking = _owned(session, customer_id, reference)
    slot = session.get(Slot, new_slot_id)
    if slot is None or datetime.combine(slot.day, slot.starts_at) <= when.replace(tzinfo=None):
        raise Refusal("gone")
    if slot.id == booking.slot_id:
        return booking_view(booking, created=False)
    if not _take_ticket(session, slot.id):
        raise Refusal("full")
    _release_ticket(session, booking.slot_id)
    booking.slot_id, booking.branch_id, booking.service = slot.id, slot.branch_id, slot.service
    session.flush()
    session.expire(booking)
    return booking_view(booking)
