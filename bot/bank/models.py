"""Tables of the bank database (SQLAlchemy ORM; schema changes via Alembic).

Branches and their hours, dated exceptions and notices; appointment slots
with a capacity and a booked count; bookings; customers and the channel ids
linked to them; one-time codes. Loans, deferral requests and escalations are
added by their own modules' migrations.
"""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class Branch(Base):
    __tablename__ = "branches"

    id = Column(String(32), primary_key=True)
    name = Column(String(64), nullable=False, unique=True)
    aliases = Column(JSON, nullable=False, default=list)
    district = Column(String(32), nullable=False, index=True)
    address = Column(String(200), nullable=False)
    phone = Column(String(32), nullable=False)
    services = Column(JSON, nullable=False, default=list)
    lunch_start = Column(Time)
    lunch_end = Column(Time)

    hours = relationship("WeeklyHours", cascade="all, delete-orphan", order_by="WeeklyHours.weekday")


class WeeklyHours(Base):
    """Regular opening hours: one row per open weekday (0 = Monday)."""

    __tablename__ = "weekly_hours"
    __table_args__ = (
        UniqueConstraint("branch_id", "weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("opens < closes", name="opens_before_closes"),
    )

    id = Column(Integer, primary_key=True)
    branch_id = Column(String(32), ForeignKey("branches.id", ondelete="CASCADE"), nullable=False)
    weekday = Column(Integer, nullable=False)
    opens = Column(Time, nullable=False)
    closes = Column(Time, nullable=False)


class HoursException(Base):
    """A dated change: closed, shortened or extra opening (rotation, holiday).

    `branch_id` NULL applies to every branch. `opens`/`closes` NULL with
    `closed` true means closed all day.
    """

    __tablename__ = "hours_exceptions"
    __table_args__ = (UniqueConstraint("branch_id", "day"),)

    id = Column(Integer, primary_key=True)
    branch_id = Column(String(32), ForeignKey("branches.id", ondelete="CASCADE"))
    day = Column(Date, nullable=False, index=True)
    closed = Column(Boolean, nullable=False, default=False)
    opens = Column(Time)
    closes = Column(Time)
    reason = Column(String(200), nullable=False, default="")


class Notice(Base):
    """A notice shown with opening hours (e.g. the current epidemic rules)."""

    __tablename__ = "notices"

    id = Column(Integer, primary_key=True)
    branch_id = Column(String(32), ForeignKey("branches.id", ondelete="CASCADE"))
    body = Column(Text, nullable=False)
    starts_on = Column(Date, nullable=False)
    ends_on = Column(Date)


class Slot(Base):
    """Tickets (号源) for one branch × service × time window on one day.

    `booked` only changes through a conditional UPDATE, and the check
    constraint makes overbooking impossible at the database level.
    """

    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("branch_id", "service", "day", "starts_at"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="within_capacity"),
    )

    id = Column(Integer, primary_key=True)
    branch_id = Column(String(32), ForeignKey("branches.id", ondelete="CASCADE"), nullable=False)
    service = Column(String(32), nullable=False)
    day = Column(Date, nullable=False)
    starts_at = Column(Time, nullable=False)
    ends_at = Column(Time, nullable=False)
    capacity = Column(Integer, nullable=False)
    booked = Column(Integer, nullable=False, default=0)


class CapacityRule(Base):
    """Staff-set tickets per slot for a branch (and optionally one service)."""

    __tablename__ = "capacity_rules"
    __table_args__ = (UniqueConstraint("branch_id", "service"),)

    id = Column(Integer, primary_key=True)
    branch_id = Column(String(32), ForeignKey("branches.id", ondelete="CASCADE"), nullable=False)
    service = Column(String(32))
    capacity = Column(Integer, nullable=False)


class Customer(Base):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    phone = Column(String(20), nullable=False, unique=True)
    name = Column(String(64))


class ChannelLink(Base):
    """A channel user id (WeChat openid, widget session, REST sender) → customer."""

    __tablename__ = "channel_links"
    __table_args__ = (UniqueConstraint("channel", "channel_user"),)

    id = Column(Integer, primary_key=True)
    channel = Column(String(32), nullable=False)
    channel_user = Column(String(128), nullable=False)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    linked_at = Column(DateTime(timezone=True), nullable=False)


class OneTimeCode(Base):
    __tablename__ = "one_time_codes"

    id = Column(Integer, primary_key=True)
    phone = Column(String(20), nullable=False, index=True)
    code_hash = Column(String(128), nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    used = Column(Boolean, nullable=False, default=False)


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
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    party = Column(String(32), nullable=False, default="本人")
    branch_id = Column(String(32), ForeignKey("branches.id"), nullable=False)
    service = Column(String(32), nullable=False)
    slot_id = Column(Integer, ForeignKey("slots.id"), nullable=False, index=True)
    status = Column(String(16), nullable=False, default="active")
    channel = Column(String(32), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    cancelled_at = Column(DateTime(timezone=True))
    checked_in_at = Column(DateTime(timezone=True))

    slot = relationship("Slot")
    branch = relationship("Branch")
