"""What branch staff change in a branch's hours: dated exceptions and notices.

The staff console calls these functions, so every rule a clerk can run into
is here, in plain Python, tested without a web server:

- a dated exception (closed, or shortened/extra hours) changes what
  `bot.bank.hours.timetable.hours_on` answers at once, and slots already
  created for that day are fitted to the new hours
  (`bot.bank.capacity.slots.fit_slots_to_hours`): empty ones go, ones
  holding bookings stop taking tickets and their bookings are reported, so
  staff can call those customers;
- notices are short, because the bot reads them out to customers.

Refusals are `Refusal`s with a code for programs and a Chinese message a
clerk can act on.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.bank.booking.counter import DeskBooking, active_in_slots
from bot.bank.capacity.slots import fit_slots_to_hours
from bot.bank.formatting import WEEKDAY_LABELS, chinese_date
from bot.bank.hours.models import Branch, HoursException, Notice, WeeklyHours
from bot.bank.hours.timetable import all_branches, hours_on
from bot.bank.refusals import Refusal


MAX_REASON = 200           # HoursException.reason column


MAX_NOTICE = 300           # the bot reads notices out to customers: keep them short


@dataclass(frozen=True)
class BranchInfo:
    id: str
    name: str
    district: str
    address: str
    phone: str
    services: Tuple[str, ...]
    lunch_start: Optional[time]
    lunch_end: Optional[time]


@dataclass(frozen=True)
class WeekdayHours:
    weekday: int
    opens: Optional[time]
    closes: Optional[time]

    @property
    def label(self) -> str:
        return WEEKDAY_LABELS[self.weekday]


@dataclass(frozen=True)
class DayLine:
    """One day of a branch's schedule, as customers will be told it."""

    day: date
    opens: Optional[time]
    closes: Optional[time]
    reason: str
    exception: bool           # a dated exception (branch or bank-wide) decides this day

    @property
    def is_open(self) -> bool:
        return self.opens is not None

    @property
    def weekday_label(self) -> str:
        return WEEKDAY_LABELS[self.day.weekday()]


@dataclass(frozen=True)
class ExceptionView:
    id: int
    branch_id: Optional[str]
    day: date
    closed: bool
    opens: Optional[time]
    closes: Optional[time]
    reason: str

    @property
    def bank_wide(self) -> bool:
        return self.branch_id is None


@dataclass(frozen=True)
class HoursChange:
    """The exception as stored, and the bookings now outside opening hours."""

    exception: ExceptionView
    replaced: bool
    affected: Tuple[DeskBooking, ...]


@dataclass(frozen=True)
class NoticeView:
    id: int
    branch_id: Optional[str]
    body: str
    starts_on: date
    ends_on: Optional[date]

    @property
    def bank_wide(self) -> bool:
        return self.branch_id is None


def branch_row(session: Session, branch_id: str) -> Branch:
    branch = session.get(Branch, branch_id)
    if branch is None:
        raise Refusal("not_found", "没有这个网点。")
    return branch


def _info(branch: Branch) -> BranchInfo:
    return BranchInfo(branch.id, branch.name, branch.district, branch.address, branch.phone,
                      tuple(branch.services or ()), branch.lunch_start, branch.lunch_end)


def branch_info(session: Session, branch_id: str) -> BranchInfo:
    return _info(branch_row(session, branch_id))


def branch_choices(session: Session) -> List[BranchInfo]:
    """Every branch, by district then name, for pickers."""
    return [_info(branch) for branch in all_branches(session)]


def first_branch_id(session: Session) -> str:
    """The branch a page opens on when none was asked for."""
    return branch_choices(session)[0].id


def not_in_past(day: date, today: date) -> None:
    if day < today:
        raise Refusal("invalid", f"{chinese_date(day)}已经过去，不能再修改。")


def weekly_timetable(session: Session, branch_id: str) -> List[WeekdayHours]:
    """Monday to Sunday; closed days have no times. Edited in the bank profile."""
    branch_row(session, branch_id)
    rows = {row.weekday: row for row in session.execute(
        select(WeeklyHours).where(WeeklyHours.branch_id == branch_id)).scalars()}
    return [
        WeekdayHours(day, rows[day].opens, rows[day].closes) if day in rows else WeekdayHours(day, None, None)
        for day in range(7)
    ]


def upcoming_days(session: Session, branch_id: str, start: date, days: int = 14) -> List[DayLine]:
    """The next days exactly as `hours_on` answers customers, for checking."""
    branch = branch_row(session, branch_id)
    dated = {row.day for row in _exception_rows(session, branch_id, start, start + timedelta(days=days))}
    lines = []
    for offset in range(days):
        hours = hours_on(session, branch, start + timedelta(days=offset))
        lines.append(DayLine(hours.day, hours.opens, hours.closes, hours.reason, hours.day in dated))
    return lines


def _exception_rows(session: Session, branch_id: str, start: date, end: Optional[date] = None):
    query = select(HoursException).where(
        (HoursException.branch_id == branch_id) | HoursException.branch_id.is_(None),
        HoursException.day >= start,
    ).order_by(HoursException.day, HoursException.branch_id)
    if end is not None:
        query = query.where(HoursException.day < end)
    return list(session.execute(query).scalars())


def _exception_view(row: HoursException) -> ExceptionView:
    return ExceptionView(row.id, row.branch_id, row.day, row.closed, row.opens, row.closes, row.reason)


def upcoming_exceptions(session: Session, branch_id: str, today: date) -> List[ExceptionView]:
    """The branch's own and the bank-wide exceptions from today on."""
    branch_row(session, branch_id)
    return [_exception_view(row) for row in _exception_rows(session, branch_id, today)]


def _validated_hours(closed: bool, opens: Optional[time], closes: Optional[time]) -> Tuple:
    if closed:
        return None, None
    if opens is None or closes is None:
        raise Refusal("invalid", "调整营业时间请填写开门和关门时间；全天停业请选“全天停业”。")
    if opens >= closes:
        raise Refusal("invalid", "关门时间要晚于开门时间。")
    return opens, closes


def add_exception(session: Session, branch_id: str, day: date, *, closed: bool,
                  opens: Optional[time] = None, closes: Optional[time] = None,
                  reason: str, today: date) -> HoursChange:
    """Close the branch on `day`, or open it at other times (shortened hours,
    a holiday rota). A second exception for the same day replaces the first,
    because customers can only be told one answer per day.

    The reason is required: the assistant tells it to customers who ask.
    """
    branch = branch_row(session, branch_id)
    not_in_past(day, today)
    reason = (reason or "").strip()
    if not reason:
        raise Refusal("invalid", "请填写原因，客户问起时助手会转告。")
    if len(reason) > MAX_REASON:
        raise Refusal("invalid", f"原因请控制在 {MAX_REASON} 字以内。")
    opens, closes = _validated_hours(closed, opens, closes)
    row = session.execute(
        select(HoursException).where(HoursException.branch_id == branch_id, HoursException.day == day)
    ).scalar_one_or_none()
    replaced = row is not None
    row = row or HoursException(branch_id=branch_id, day=day)
    row.closed, row.opens, row.closes, row.reason = closed, opens, closes, reason
    session.add(row)
    session.flush()
    affected = active_in_slots(session, fit_slots_to_hours(session, branch, day))
    return HoursChange(_exception_view(row), replaced, tuple(affected))


def remove_exception(session: Session, branch_id: str, exception_id: int, today: date) -> HoursChange:
    """Go back to the usual hours for that day. Bank-wide exceptions are
    decided centrally and cannot be removed from a branch."""
    row = session.get(HoursException, exception_id)
    if row is None or row.branch_id != branch_id:
        raise Refusal("not_found", "没有找到这条临时调整，可能已经删除。")
    not_in_past(row.day, today)
    view = _exception_view(row)
    session.delete(row)
    session.flush()
    affected = active_in_slots(session, fit_slots_to_hours(session, branch_row(session, branch_id), view.day))
    return HoursChange(view, False, tuple(affected))


def _notice_view(row: Notice) -> NoticeView:
    return NoticeView(row.id, row.branch_id, row.body, row.starts_on, row.ends_on)


def notices_in_force(session: Session, branch_id: str, today: date) -> List[NoticeView]:
    """The branch's and the bank-wide notices that have not ended yet."""
    branch_row(session, branch_id)
    rows = session.execute(
        select(Notice).where(
            (Notice.branch_id == branch_id) | Notice.branch_id.is_(None),
            (Notice.ends_on.is_(None)) | (Notice.ends_on >= today),
        ).order_by(Notice.starts_on, Notice.id)
    ).scalars()
    return [_notice_view(row) for row in rows]


def add_notice(session: Session, branch_id: Optional[str], body: str, *, starts_on: date,
               ends_on: Optional[date], today: date) -> NoticeView:
    """A notice customers are told with the opening hours; `branch_id` None
    means every branch (the caller decides who may do that)."""
    if branch_id is not None:
        branch_row(session, branch_id)
    body = " ".join((body or "").split())
    if not body:
        raise Refusal("invalid", "公告内容不能为空。")
    if len(body) > MAX_NOTICE:
        raise Refusal("invalid", f"公告请控制在 {MAX_NOTICE} 字以内，助手会原样念给客户听。")
    if starts_on < today:
        raise Refusal("invalid", "开始日期不能早于今天。")
    if ends_on is not None and ends_on < starts_on:
        raise Refusal("invalid", "结束日期不能早于开始日期。")
    row = Notice(branch_id=branch_id, body=body, starts_on=starts_on, ends_on=ends_on)
    session.add(row)
    session.flush()
    return _notice_view(row)


def end_notice(session: Session, notice_id: int, *, branch_id: str, today: date,
               bank_wide_ok: bool = False) -> NoticeView:
    """Stop showing a notice from today on. One that has not started yet is
    simply deleted. Bank-wide notices only when `bank_wide_ok`."""
    row = session.get(Notice, notice_id)
    allowed = row is not None and (row.branch_id == branch_id or (row.branch_id is None and bank_wide_ok))
    if not allowed:
        raise Refusal("not_found", "没有找到这条公告，或者它不归本网点管理。")
    view = _notice_view(row)
    if row.starts_on >= today:
        session.delete(row)
    else:
        row.ends_on = min(row.ends_on or today, today - timedelta(days=1))
    session.flush()
    return view
