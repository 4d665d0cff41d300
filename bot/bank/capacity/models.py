"""Tickets (号源): appointment slots with a capacity, and the rules that size them."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Date, ForeignKey, Integer, String, Time, UniqueConstraint

from bot.bank.base import Base


class Slot(Base):
    """Tickets for one branch × service × time window on one day.

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
