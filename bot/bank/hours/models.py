"""Branches and when they open: weekly hours, dated exceptions and notices."""
from __future__ import annotations

from sqlalchemy import (JSON, Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Integer, String, Text, Time,
                        UniqueConstraint)
from sqlalchemy.orm import relationship

from bot.bank.base import Base, Vocabulary, vocabulary_column


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


class OfficialDayKind(Vocabulary):
    """What the State Council's schedule makes of a day."""

    HOLIDAY = "holiday"            # 放假: branches keep holiday hours (closed unless a rota opens them)
    WORKING_DAY = "working_day"    # 调休上班: a weekend day worked with weekday hours


class OfficialDay(Base):
    """One day of the national holiday schedule as the bank entered it.

    Staff enter each year's schedule when the State Council publishes it
    (usually in November), so the bank never waits for a new release of
    chinesecalendar; a row here wins over the package. `name` is the
    holiday (元旦); for a make-up working day, the holiday it makes up for.
    """

    __tablename__ = "official_days"

    day = Column(Date, primary_key=True)
    kind = vocabulary_column(OfficialDayKind, "official_day_kind", 16, nullable=False)
    name = Column(String(32), nullable=False, default="")
    entered_by = Column(String(64), nullable=False)
    entered_at = Column(DateTime(timezone=True), nullable=False)


class ScheduleYear(Base):
    """A year whose whole holiday schedule the bank has entered.

    Only then may the bot treat an unlisted weekday of that year as an
    ordinary working day; for other years beyond the package it says the
    schedule is not published yet.
    """

    __tablename__ = "schedule_years"

    year = Column(Integer, primary_key=True, autoincrement=False)
    recorded_by = Column(String(64), nullable=False)
    recorded_at = Column(DateTime(timezone=True), nullable=False)
