"""Bookings at the counter: the day's list, check-in, no-show, and undoing a mark.

- a booking is checked in on its own day only; a no-show is marked once its
  slot has started; both can be undone the same day (a mistaken tap).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Iterable, List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.bank import references
from bot.bank.booking.models import Booking, BookingStatus
from bot.bank.capacity.models import Slot
from bot.bank.customers.models import Customer
from bot.bank.formatting import chinese_date, hm
from bot.bank.masking import mask_phone
from bot.bank.refusals import Refusal
from bot.clock import local


STATUS_LABELS = {BookingStatus.ACTIVE: "待到店", BookingStatus.CHECKED_IN: "已签到",
                 BookingStatus.NO_SHOW: "未到店", BookingStatus.CANCELLED: "已取消"}


@dataclass(frozen=True)
class DeskBooking:
    """A booking as the counter sees it: who, when, what, and where it stands."""

    id: int
    reference: str
    branch_id: str
    branch_name: str
    service: str
    party: str
    day: date
    starts_at: time
    ends_at: time
    status: str
    channel: str
    customer_name: str
    customer_phone: str      # masked: the counter asks for the last four digits
    checked_in_at: Optional[datetime]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def _desk_view(booking: Booking, customer: Customer) -> DeskBooking:
    slot = booking.slot
    return DeskBooking(
        id=booking.id, reference=booking.reference, branch_id=booking.branch_id,
        branch_name=booking.branch.name, service=booking.service, party=booking.party,
        day=slot.day, starts_at=slot.starts_at, ends_at=slot.ends_at, status=booking.status,
        channel=booking.channel, customer_name=customer.name or "",
        customer_phone=mask_phone(customer.phone), checked_in_at=local(booking.checked_in_at),
    )


def _local(when: datetime) -> datetime:
    """Slots are stored as local wall-clock times; compare like with like."""
    return when.replace(tzinfo=None)


def bookings_on(session: Session, day: date, branch_id: Optional[str] = None) -> List[DeskBooking]:
    """Every booking of the day (cancelled ones too, for the counts), by time."""
    query = (
        select(Booking, Customer)
        .join(Slot, Booking.slot_id == Slot.id)
        .join(Customer, Booking.customer_id == Customer.id)
        .where(Slot.day == day)
        .order_by(Slot.starts_at, Booking.service, Booking.reference)
    )
    if branch_id is not None:
        query = query.where(Booking.branch_id == branch_id)
    return [_desk_view(booking, customer) for booking, customer in session.execute(query)]


def _counter_booking(session: Session, reference: str, scope: Optional[str]) -> Tuple[Booking, Customer]:
    """The booking by reference, refused when it belongs to another branch."""
    row = session.execute(
        select(Booking, Customer).join(Customer, Booking.customer_id == Customer.id)
        .where(Booking.reference == references.canonical(reference))
    ).first()
    if row is None:
        raise Refusal("not_found", f"没有找到预约号 {reference.strip().upper()}。")
    if scope is not None and row[0].branch_id != scope:
        raise Refusal("other_branch", "这个预约不在本网点，不能操作。")
    return row[0], row[1]


def check_in(session: Session, reference: str, when: datetime, scope: Optional[str] = None) -> DeskBooking:
    """Mark the customer as arrived.

    Only on the booking's own day, so a mistyped reference cannot close a
    booking weeks ahead. A customer marked as no-show who turns up late can
    still be checked in. A second tap changes nothing (tablets double-fire).
    """
    booking, customer = _counter_booking(session, reference, scope)
    if booking.status == BookingStatus.CHECKED_IN:
        return _desk_view(booking, customer)
    if booking.status not in (BookingStatus.ACTIVE, BookingStatus.NO_SHOW):
        raise Refusal("not_active", f"预约 {booking.reference} {STATUS_LABELS[booking.status]}，不能签到。")
    if booking.slot.day != when.date():
        raise Refusal("not_today", f"预约 {booking.reference} 是{chinese_date(booking.slot.day)}的，只能当天签到。")
    booking.status, booking.checked_in_at = BookingStatus.CHECKED_IN, when
    session.flush()
    return _desk_view(booking, customer)


def mark_no_show(session: Session, reference: str, when: datetime, scope: Optional[str] = None) -> DeskBooking:
    """Record that the customer did not come.

    Only once the slot has started. The ticket is not given back (the time
    has passed), but the booking stops being active, so the customer can
    book the same service again.
    """
    booking, customer = _counter_booking(session, reference, scope)
    if booking.status == BookingStatus.NO_SHOW:
        return _desk_view(booking, customer)
    if booking.status != BookingStatus.ACTIVE:
        raise Refusal("not_active", f"预约 {booking.reference} {STATUS_LABELS[booking.status]}，不能标记未到。")
    slot = booking.slot
    if datetime.combine(slot.day, slot.starts_at) > _local(when):
        raise Refusal(
            "not_started",
            f"预约时段 {chinese_date(slot.day)} {hm(slot.starts_at)} 还没到，过了时间客户仍未到店再标记。",
        )
    booking.status = BookingStatus.NO_SHOW
    session.flush()
    return _desk_view(booking, customer)


def undo_mark(session: Session, reference: str, when: datetime, scope: Optional[str] = None) -> DeskBooking:
    """Take back a check-in or no-show made by mistake, on the same day."""
    booking, customer = _counter_booking(session, reference, scope)
    if booking.status not in (BookingStatus.CHECKED_IN, BookingStatus.NO_SHOW):
        raise Refusal("not_active", f"预约 {booking.reference} 没有签到或未到记录，无需撤销。")
    if booking.slot.day != when.date():
        raise Refusal("not_today", "只能撤销当天的签到或未到记录。")
    try:
        with session.begin_nested():
            booking.status, booking.checked_in_at = BookingStatus.ACTIVE, None
            session.flush()
    except IntegrityError:  # the customer has booked the same service again meanwhile
        raise Refusal("rebooked", f"客户已经重新预约了{booking.service}，不能撤销这条记录。") from None
    return _desk_view(booking, customer)


def _views_where(session: Session, *conditions) -> List[DeskBooking]:
    rows = session.execute(
        select(Booking, Customer).join(Customer, Booking.customer_id == Customer.id).where(*conditions)
    ).all()
    return sorted((_desk_view(b, c) for b, c in rows), key=lambda v: (v.starts_at, v.reference))


def desk_bookings(session: Session, booking_ids: Iterable[int]) -> List[DeskBooking]:
    """These bookings as the counter sees them, by time."""
    return _views_where(session, Booking.id.in_(list(booking_ids)))


def active_in_slots(session: Session, slot_ids: Iterable[int]) -> List[DeskBooking]:
    """Active bookings in these slots, by time: the customers staff must call
    when a change of hours leaves their slot outside opening hours."""
    return _views_where(session, Booking.slot_id.in_(list(slot_ids)), Booking.status == BookingStatus.ACTIVE)
