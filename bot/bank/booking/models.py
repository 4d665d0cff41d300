"""Bookings: one person's ticket in one slot, and the words for where it stands."""
from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import relationship

from bot.bank.base import Base, Vocabulary, status_in, vocabulary_column
from bot.bank.capacity.models import Slot
from bot.bank.hours.models import Branch


class BookingStatus(Vocabulary):
    """Active until the customer cancels, checks in at the counter, or does not come."""

    ACTIVE = "active"
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class Booking(Base):
    """One person's ticket in one slot.

    The partial unique index allows one active booking per customer, service
    and party: a borrower and a co-borrower are different parties, so they
    can be booked into different slots on purpose.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        Index(
            "one_active_booking_per_service",
            "customer_id", "service", "party",
            unique=True,
            sqlite_where=status_in("status", [BookingStatus.ACTIVE]),
            postgresql_where=status_in("status", [BookingStatus.ACTIVE]),
        ),
    )

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    party = Column(String(32), nullable=False, default="本人")
    branch_id = Column(String(32), ForeignKey("branches.id"), nullable=False)
    service = Column(String(32), nullable=False)
    slot_id = Column(Integer, ForeignKey("slots.id"), nullable=False, index=True)
    status = vocabulary_column(BookingStatus, "booking_status", 16, nullable=False, default=BookingStatus.ACTIVE)
    channel = Column(String(32), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    cancelled_at = Column(DateTime(timezone=True))
    checked_in_at = Column(DateTime(timezone=True))
    # The day-before reminder (bot.bank.booking.reminders): claimed once across servers by setting
    # `reminded_at`; `reminder_id` is its notification, for the no-show figures.
    reminded_at = Column(DateTime(timezone=True))
    reminder_id = Column(Integer, ForeignKey("notifications.id", ondelete="SET NULL"))

    slot = relationship(Slot)
    branch = relationship(Branch)
