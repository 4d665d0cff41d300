"""Who the customer is: channel ids linked to a customer by a one-time code.

A channel user (WeChat openid, widget session, REST sender) is anonymous
until they prove a phone number with a 6-digit code. After that the link is
kept, so the same channel user is recognised in later sessions, and the same
phone on another channel reaches the same bookings and requests.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.bank.customers.codes import code_sender
from bot.bank.customers.models import ChannelLink, Customer, OneTimeCode
from bot.clock import local
from bot.settings import settings

CODE_TTL = timedelta(minutes=5)
MAX_ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class Verification:
    """The outcome of checking a code: `ok`, or why not."""

    ok: bool
    reason: str = ""  # "wrong", "expired", "too_many"
    customer_id: Optional[int] = None


def _secret() -> bytes:
    return settings().secret.encode()


def _hash(phone: str, code: str) -> str:
    return hmac.new(_secret(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def linked_customer(session: Session, channel: str, channel_user: str) -> Optional[Customer]:
    """The customer this channel user proved to be, if any."""
    return session.execute(
        select(Customer).join(ChannelLink).where(
            ChannelLink.channel == channel, ChannelLink.channel_user == channel_user
        )
    ).scalar_one_or_none()


def send_code(session: Session, phone: str, when: datetime) -> bool:
    """Send a fresh code unless one went out less than a minute ago.

    Returns False when throttled, so the caller can say "please use the code
    we just sent" instead of flooding the phone.
    """
    recent = session.execute(
        select(OneTimeCode.id).where(
            OneTimeCode.phone == phone,
            OneTimeCode.used.is_(False),
            OneTimeCode.expires_at > when + CODE_TTL - RESEND_AFTER,
        )
    ).first()
    if recent:
        return False
    code = f"{secrets.randbelow(1_000_000):06d}"
    session.add(OneTimeCode(phone=phone, code_hash=_hash(phone, code), expires_at=when + CODE_TTL))
    session.flush()
    code_sender().send(phone, code)
    return True


def verify_code(session: Session, phone: str, code: str, channel: str, channel_user: str,
                when: datetime) -> Verification:
    """Check the newest code for the phone and link the channel user on success."""
    pending = session.execute(
        select(OneTimeCode).where(OneTimeCode.phone == phone, OneTimeCode.used.is_(False))
        .order_by(OneTimeCode.id.desc()).limit(1)
    ).scalar_one_or_none()
    # Compare as Shanghai time: PostgreSQL returns an aware time in its own zone
    # (often UTC), SQLite the naive Shanghai wall-clock time it was given.
    if pending is None or local(pending.expires_at) <= local(when):
        return Verification(False, "expired")
    if pending.attempts >= MAX_ATTEMPTS:
        return Verification(False, "too_many")
    session.execute(update(OneTimeCode).where(OneTimeCode.id == pending.id)
                    .values(attempts=OneTimeCode.attempts + 1))
    if not hmac.compare_digest(pending.code_hash, _hash(phone, code.strip())):
        return Verification(False, "wrong")
    pending.used = True
    customer = link(session, phone, channel, channel_user, when)
    return Verification(True, customer_id=customer.id)


def customer_by_phone(session: Session, phone: str) -> Customer:
    """The customer with this phone, created on first contact."""
    customer = session.execute(select(Customer).where(Customer.phone == phone)).scalar_one_or_none()
    if customer is None:
        customer = Customer(phone=phone)
        session.add(customer)
        session.flush()
    return customer


def link(session: Session, phone: str, channel: str, channel_user: str, when: datetime) -> Customer:
    """Link a channel user to the phone's customer (replacing an older link)."""
    customer = customer_by_phone(session, phone)
    existing = session.execute(
        select(ChannelLink).where(ChannelLink.channel == channel, ChannelLink.channel_user == channel_user)
    ).scalar_one_or_none()
    if existing is None:
        session.add(ChannelLink(channel=channel, channel_user=channel_user, customer_id=customer.id,
                                linked_at=when))
    else:
        existing.customer_id, existing.linked_at = customer.id, when
    session.flush()
    return customer
