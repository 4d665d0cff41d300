"""Opening hours: is a branch open on a day, and right now?

Order of precedence, most specific first: a dated exception for the branch,
a dated exception for every branch, a public holiday (closed), a make-up
working day (调休, weekday hours), then the weekly timetable. Holidays and
make-up days come from the bank's own schedule first, then the package
(`bot.bank.hours.schedule`); a day of a year neither knows keeps its weekly
hours but is marked `schedule_published=False`, so nobody promises them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import List, Optional, Sequence, Tuple

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.bank.hours.models import Branch, HoursException, Notice, WeeklyHours
from bot.bank.hours.schedule import day_kind
from bot.wording import text_of

MONDAY = 0


@dataclass(frozen=True)
class DayHours:
    """A branch's opening on one day, with the reason when it is unusual."""

    branch: Branch
    day: date
    opens: Optional[time]
    closes: Optional[time]
    lunch: Optional[Tuple[time, time]]
    reason: str = ""
    holiday: Optional[str] = None
    makeup_working_day: bool = False
    schedule_published: bool = True

    @property
    def is_open(self) -> bool:
        return self.opens is not None and self.closes is not None

    def open_at(self, moment: time) -> bool:
        """Open at this time of day (counters close over lunch)."""
        if not self.is_open or not self.opens <= moment < self.closes:
            return False
        return not (self.lunch and self.lunch[0] <= moment < self.lunch[1])


def find_branch(session: Session, name: str) -> Optional[Branch]:
    """A branch by canonical name or id (entity values are canonical names)."""
    return session.execute(
        select(Branch).where(or_(Branch.name == name, Branch.id == name))
    ).scalar_one_or_none()


def all_branches(session: Session) -> List[Branch]:
    return list(session.execute(select(Branch).order_by(Branch.district, Branch.name)).scalars())


def branches_in(session: Session, district: str) -> List[Branch]:
    return list(
        session.execute(select(Branch).where(Branch.district == district).order_by(Branch.name)).scalars()
    )


def districts(session: Session) -> List[str]:
    return sorted(set(session.execute(select(Branch.district)).scalars()))


def _exception_for(session: Session, branch: Branch, day: date) -> Optional[HoursException]:
    """The branch's own exception for the day, else a bank-wide one."""
    rows = session.execute(
        select(HoursException).where(
            HoursException.day == day,
            or_(HoursException.branch_id == branch.id, HoursException.branch_id.is_(None)),
        )
    ).scalars()
    ranked = sorted(rows, key=lambda row: row.branch_id is None)
    return ranked[0] if ranked else None


def _weekly(branch: Branch, weekday: int) -> Optional[WeeklyHours]:
    return next((row for row in branch.hours if row.weekday == weekday), None)


def _lunch(branch: Branch) -> Optional[Tuple[time, time]]:
    if branch.lunch_start and branch.lunch_end:
        return branch.lunch_start, branch.lunch_end
    return None


def hours_on(session: Session, branch: Branch, day: date) -> DayHours:
    """How the branch opens on `day`, following the precedence above."""
    lunch = _lunch(branch)
    exception = _exception_for(session, branch, day)
    if exception is not None:
        if exception.closed or exception.opens is None:
            return DayHours(branch, day, None, None, None, reason=exception.reason)
        return DayHours(branch, day, exception.opens, exception.closes, lunch, reason=exception.reason)
    national = day_kind(session, day)
    if national.holiday and not national.working:
        return DayHours(branch, day, None, None, None, reason=text_of("utter_hours_reason_holiday", holiday=national.holiday), holiday=national.holiday)
    if national.makeup:
        weekday_hours = _weekly(branch, MONDAY)
        if weekday_hours:
            return DayHours(
                branch, day, weekday_hours.opens, weekday_hours.closes, lunch,
                reason=text_of("utter_hours_reason_makeup_day"), makeup_working_day=True,
            )
    regular = _weekly(branch, day.weekday())
    if regular is None:
        return DayHours(branch, day, None, None, None, schedule_published=national.published)
    return DayHours(branch, day, regular.opens, regular.closes, lunch, schedule_published=national.published)


def open_now(session: Session, branch: Branch, moment: datetime) -> Tuple[bool, DayHours]:
    """Whether the branch is serving at `moment`, with that day's hours."""
    today = hours_on(session, branch, moment.date())
    return today.open_at(moment.time().replace(tzinfo=None)), today


def open_branches(session: Session, day: date, branches: Sequence[Branch]) -> List[DayHours]:
    """The day's hours of each branch that opens that day."""
    return [hours for hours in (hours_on(session, b, day) for b in branches) if hours.is_open]


def notices_for(session: Session, branch: Optional[Branch], day: date) -> List[str]:
    """Notices in force on `day` for this branch and for the whole bank."""
    branch_filter = Notice.branch_id.is_(None)
    if branch is not None:
        branch_filter = or_(branch_filter, Notice.branch_id == branch.id)
    rows = session.execute(
        select(Notice).where(
            branch_filter,
            Notice.starts_on <= day,
            or_(Notice.ends_on.is_(None), Notice.ends_on >= day),
        ).order_by(Notice.id)
    ).scalars()
    return [row.body for row in rows]
