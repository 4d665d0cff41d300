"""Branches and when they open: weekly hours, dated exceptions and notices."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, CheckConstraint, Column, Date, ForeignKey, Integer, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import relationship

from bot.bank.base import Base


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
