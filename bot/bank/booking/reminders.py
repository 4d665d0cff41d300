"""The day-before reminder of a booking: where, when, and what to bring.

`send_reminders` runs in every Rasa server every poll (bot.channels.delivery
attaches it). From the bank profile's `reminder_time` it takes each active
booking for tomorrow that has no reminder yet and claims it with a
conditional `UPDATE … WHERE reminded_at IS NULL`: of several servers running
the same pass, exactly one wins each booking, so a customer hears once. The
reminder is a notification (`bot.bank.messaging.notifications`): on the
channel the customer booked on, else by SMS, and held back for a customer
who opted out (退订).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.bank.booking.confirmations import notice_values
from bot.bank.booking.models import Booking, BookingStatus
from bot.bank.capacity.models import Slot
from bot.bank.customers.models import ChannelLink
from bot.bank.messaging import notifications
from bot.bank.messaging.models import NotificationKind
from bot.wording import text_of
from bot.bank.profile import load_profile


def channel_user_of(session: Session, booking: Booking) -> Optional[str]:
    """The customer's latest verified id on the channel they booked on."""
    return session.execute(
        select(ChannelLink.channel_user).where(ChannelLink.customer_id == booking.customer_id,
                                               ChannelLink.channel == booking.channel)
        .order_by(ChannelLink.linked_at.desc()).limit(1)).scalar_one_or_none()


def reminder_text(booking: Booking) -> str:
    return text_of("utter_notice_booking_reminder", **notice_values(booking))


def _claim(session: Session, booking_id: int, at: datetime) -> bool:
    return bool(session.execute(
        update(Booking).where(Booking.id == booking_id, Booking.reminded_at.is_(None),
                              Booking.status == BookingStatus.ACTIVE)
        .values(reminded_at=at).execution_options(synchronize_session=False)).rowcount)


def send_reminders(session: Session, *, at: datetime) -> int:
    """Remind tomorrow's customers once the reminder time has come; returns how many this call claimed."""
    if at.time().replace(tzinfo=None) < load_profile().reminder_time:
        return 0
    tomorrow = at.date() + timedelta(days=1)
    due = session.execute(select(Booking.id).join(Slot, Slot.id == Booking.slot_id).where(
        Slot.day == tomorrow, Booking.status == BookingStatus.ACTIVE, Booking.reminded_at.is_(None))
        .order_by(Booking.id)).scalars().all()
    sent = 0
    for booking_id in due:
        if not _claim(session, booking_id, at):
            continue              # another server has it
        booking = session.get(Booking, booking_id)
        session.refresh(booking)
        text = reminder_text(booking)
        notification = notifications.notify(
            session, NotificationKind.BOOKING_REMINDER, booking.channel, channel_user_of(session, booking),
            [{"text": text}], at=at, customer_id=booking.customer_id, booking=booking.reference)
        booking.reminder_id = notification.id
        sent += 1
    session.flush()
    return sent
