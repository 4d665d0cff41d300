"""The booking confirmation the bank texts after a booking is made or moved.

The chat shows the confirmation at once; the SMS is what the customer keeps
after the chat: the reference to read to the hotline, the branch's address
and what to bring. It goes straight to the verified phone, as a
notification of its own kind, so staff see it and the insights count it;
an opt-out of reminders (退订) never holds it back.
"""
from __future__ import annotations

from datetime import datetime
from typing import Dict

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.bank.booking.models import Booking
from bot.bank.formatting import chinese_date, hm
from bot.bank.messaging import notifications
from bot.bank.messaging.models import Notification, NotificationKind
from bot.bank.profile import what_to_bring
from bot.wording import text_of


def notice_values(booking: Booking) -> Dict[str, str]:
    """What the bank's messages about a booking name: when, where, what, what to bring."""
    slot = booking.slot
    return dict(day=chinese_date(slot.day), start=hm(slot.starts_at), end=hm(slot.ends_at),
                branch=booking.branch.name, address=booking.branch.address, service=booking.service,
                bring=what_to_bring(booking.service), reference=booking.reference)


def confirm_by_sms(session: Session, reference: str, *, at: datetime) -> Notification:
    """Text the customer the booking as it now stands (made or moved), in the caller's transaction."""
    booking = session.execute(select(Booking).where(Booking.reference == reference)).scalar_one()
    text = text_of("utter_notice_booking_confirmation", **notice_values(booking))
    return notifications.notify(session, NotificationKind.BOOKING_CONFIRMATION, booking.channel, None,
                                [{"text": text}], at=at, customer_id=booking.customer_id, booking=booking.reference)
