"""The national holiday schedule as bank data, ahead of the chinesecalendar package.

The State Council publishes next year's holidays and make-up working days
(调休) late in the year, and a new release of chinesecalendar follows
whenever it follows. Staff therefore enter the schedule themselves: one day
at a time, or a whole pasted table (`import_table`). What they enter is
stored in `official_days` and wins over the package; a year entered in full
is recorded in `schedule_years`.

For a day the bank has not entered the package answers, and for a year
neither knows the schedule is *unpublished*: the day still gets its weekday
timetable (something has to be shown to staff), but `DayKind.published` is
false so the bot says the schedule is not out yet instead of promising a
normal working day, and bookings stop at `known_until`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterator, List, Optional, Sequence, Tuple

from sqlalchemy import delete, extract, select
from sqlalchemy.orm import Session

from bot.bank.hours import holidays
from bot.bank.hours.models import OfficialDay, OfficialDayKind, ScheduleYear
from bot.bank.refusals import Refusal
from bot.wording import text_of

# From this month on, next year's schedule ought to be in (it is usually published in November).
WARN_FROM_MONTH = 11
KIND_WORDS = {
    "放假": OfficialDayKind.HOLIDAY, "休": OfficialDayKind.HOLIDAY, "休息": OfficialDayKind.HOLIDAY,
    "holiday": OfficialDayKind.HOLIDAY,
    "上班": OfficialDayKind.WORKING_DAY, "班": OfficialDayKind.WORKING_DAY, "调休上班": OfficialDayKind.WORKING_DAY,
    "working_day": OfficialDayKind.WORKING_DAY,
}
KIND_LABELS = {OfficialDayKind.HOLIDAY: "放假", OfficialDayKind.WORKING_DAY: "调休上班"}
# "2027-02-06", or a run of days "2027-02-06~2027-02-13" (also ～, 至, 到, and "~02-13" in the same year).
_RANGE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:~(?:(\d{4})-)?(\d{1,2})-(\d{1,2}))?$")
_RANGE_SIGN = re.compile(r"\s*[~～至到]\s*")
_CELLS = re.compile(r"[\t,，|\s]+")
MAX_RUN_DAYS = 15


@dataclass(frozen=True)
class DayKind:
    """What the national schedule says about one day, and whether it is known at all."""

    day: date
    working: bool
    holiday: Optional[str] = None        # the holiday's Chinese name on a day off
    makeup: bool = False                 # a weekend day worked (调休上班)
    published: bool = True               # False: the year's schedule is not known yet


@dataclass(frozen=True)
class ScheduleRow:
    """One line of an entered or pasted schedule."""

    day: date
    kind: OfficialDayKind
    name: str

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass(frozen=True)
class Imported:
    """What an import stored: the years it completed and its rows."""

    years: Tuple[int, ...]
    rows: Tuple[ScheduleRow, ...]

    @property
    def holidays(self) -> int:
        return sum(row.kind == OfficialDayKind.HOLIDAY for row in self.rows)

    @property
    def working_days(self) -> int:
        return sum(row.kind == OfficialDayKind.WORKING_DAY for row in self.rows)


# --- reading --------------------------------------------------------------------------

def year_entered(session: Session, year: int) -> bool:
    """The bank has entered this year's whole schedule."""
    return session.get(ScheduleYear, year) is not None


def year_known(session: Session, year: int) -> bool:
    """The schedule for `year` is known, from the bank or from the package."""
    first, last = holidays.supported_years()
    return first <= year <= last or year_entered(session, year)


def day_kind(session: Session, day: date) -> DayKind:
    """The national schedule for `day`: the bank's row, else the package, else weekends off."""
    row = session.get(OfficialDay, day)
    weekend = day.weekday() >= 5
    if row is not None:
        if row.kind == OfficialDayKind.HOLIDAY:
            return DayKind(day, working=False, holiday=row.name or text_of("utter_hours_unnamed_holiday"))
        return DayKind(day, working=True, makeup=weekend)
    if year_entered(session, day.year):
        return DayKind(day, working=not weekend)
    first, last = holidays.supported_years()
    if first <= day.year <= last:
        return DayKind(day, working=holidays.is_working_day(day), holiday=holidays.holiday_name(day),
                       makeup=holidays.is_makeup_working_day(day))
    return DayKind(day, working=not weekend, published=False)


def known_until(session: Session, today: date) -> date:
    """The last day of the run of known years starting with this one."""
    year = today.year
    while year_known(session, year + 1):
        year += 1
    return date(year, 12, 31) if year_known(session, today.year) else today - timedelta(days=1)


def missing_next_year(session: Session, today: date) -> Optional[int]:
    """Next year, when from 1 November its schedule is still not known; else None."""
    if today.month >= WARN_FROM_MONTH and not year_known(session, today.year + 1):
        return today.year + 1
    return None


def entered_rows(session: Session, year: int) -> List[ScheduleRow]:
    """The days the bank entered for `year`, in date order."""
    rows = session.execute(
        select(OfficialDay).where(extract("year", OfficialDay.day) == year).order_by(OfficialDay.day)
    ).scalars()
    return [ScheduleRow(row.day, OfficialDayKind(row.kind), row.name) for row in rows]


# --- entering ---------------------------------------------------------------------------

def _checked(row: ScheduleRow) -> ScheduleRow:
    if row.kind == OfficialDayKind.WORKING_DAY and row.day.weekday() < 5:
        raise Refusal("invalid", f"{row.day.isoformat()} 是工作日，本来就上班，不需要登记为调休上班。")
    if row.kind == OfficialDayKind.HOLIDAY and not row.name.strip():
        raise Refusal("invalid", f"请写上 {row.day.isoformat()} 是什么节日（例如 元旦、春节）。")
    if len(row.name) > 32:
        raise Refusal("invalid", "节日名称太长了，请写 32 个字以内。")
    return row


def _store(session: Session, row: ScheduleRow, by: str, at: datetime) -> None:
    stored = session.get(OfficialDay, row.day) or OfficialDay(day=row.day)
    stored.kind, stored.name = row.kind, row.name.strip()
    stored.entered_by, stored.entered_at = by, at
    session.add(stored)


def enter_day(session: Session, day: date, kind: str, name: str, *, by: str, at: datetime) -> ScheduleRow:
    """Enter or correct one day of the schedule (a second entry for the day replaces the first)."""
    row = _checked(ScheduleRow(day, _kind(kind), name.strip()))
    _store(session, row, by, at)
    session.flush()
    return row


def remove_day(session: Session, day: date) -> date:
    """Forget an entered day; the package (or the weekday rule) answers for it again."""
    row = session.get(OfficialDay, day)
    if row is None:
        raise Refusal("not_found", f"{day.isoformat()} 没有登记过。")
    session.delete(row)
    session.flush()
    return day


def confirm_year(session: Session, year: int, *, by: str, at: datetime) -> int:
    """Record that the days entered for `year` are its whole schedule."""
    if not entered_rows(session, year):
        raise Refusal("invalid", f"{year} 年还没有登记任何放假安排，请先录入或粘贴全年的安排。")
    session.merge(ScheduleYear(year=year, recorded_by=by, recorded_at=at))
    session.flush()
    return year


def import_table(session: Session, table: str, *, by: str, at: datetime) -> Imported:
    """Replace the schedule of every year in `table` with its rows and mark those years entered.

    One line per day or run of days: date (or `from~to`), 放假 or 上班, and
    the holiday's name, separated by tabs, commas or spaces, as copied from
    a spreadsheet. Blank lines and lines starting with # are skipped; a
    header line (日期 …) too. Nothing is stored when any line is wrong.
    """
    rows = [_checked(row) for row in parse_table(table)]
    if not rows:
        raise Refusal("invalid", "没有读到任何日期。每行写：日期、放假或上班、节日名称。")
    years = tuple(sorted({row.day.year for row in rows}))
    for year in years:
        session.execute(delete(OfficialDay).where(extract("year", OfficialDay.day) == year)
                        .execution_options(synchronize_session="fetch"))
    session.flush()
    for row in rows:
        _store(session, row, by, at)
    for year in years:
        session.merge(ScheduleYear(year=year, recorded_by=by, recorded_at=at))
    session.flush()
    return Imported(years, tuple(rows))


def parse_table(table: str) -> List[ScheduleRow]:
    """The rows of a pasted table (see `import_table`); a wrong line is refused with its number."""
    rows: List[ScheduleRow] = []
    seen = {}
    for number, line in enumerate(table.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("日期"):
            continue
        for row in _parse_line(number, line):
            if row.day in seen:
                raise Refusal("invalid", f"第 {number} 行：{row.day.isoformat()} 在第 {seen[row.day]} 行已经写过了。")
            seen[row.day] = number
            rows.append(row)
    return rows


def _parse_line(number: int, line: str) -> Iterator[ScheduleRow]:
    cells = [cell for cell in _CELLS.split(_RANGE_SIGN.sub("~", line)) if cell]
    if len(cells) < 2:
        raise Refusal("invalid", f"第 {number} 行看不懂：“{line}”。每行写：日期、放假或上班、节日名称。")
    days = _days(number, cells[0])
    kind = KIND_WORDS.get(cells[1])
    if kind is None:
        raise Refusal("invalid", f"第 {number} 行的“{cells[1]}”不是“放假”或“上班”。")
    name = " ".join(cells[2:])
    for day in days:
        yield ScheduleRow(day, kind, name)


def _days(number: int, cell: str) -> Sequence[date]:
    match = _RANGE.match(cell)
    if not match:
        raise Refusal("invalid", f"第 {number} 行的日期“{cell}”请写成 2027-01-01，或 2027-02-06~2027-02-13。")
    year, month, day, end_year, end_month, end_day = match.groups()
    try:
        first = date(int(year), int(month), int(day))
        last = date(int(end_year or year), int(end_month), int(end_day)) if end_month else first
    except ValueError:
        raise Refusal("invalid", f"第 {number} 行的日期“{cell}”在日历上没有。") from None
    if not first <= last <= first + timedelta(days=MAX_RUN_DAYS - 1):
        raise Refusal("invalid", f"第 {number} 行的日期段“{cell}”不对：结束日要在开始日之后，最多 {MAX_RUN_DAYS} 天。")
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _kind(word: str) -> OfficialDayKind:
    kind = KIND_WORDS.get(word.strip())
    if kind is None:
        raise Refusal("invalid", "请选择“放假”或“调休上班”。")
    return kind
