"""Working days, public holidays and make-up working days (调休) in mainland China.

A thin layer over ``chinese_calendar`` (PyPI: chinesecalendar), which carries
the State Council's holiday schedule year by year. The schedule for a year is
published only late in the year before, so the library always stops at some
year (1.11.0 knows 2004-2026). For a year it does not know we fall back to
"Monday-Friday are working days", corrected by the bank's own exception table,
and log one warning per year so operations know to update the package or the
table.

The bank exception table (``exceptions``) maps a date to True (branches work
that day) or False (branches closed). It always wins, in known years too: a
bank may close on a day the State Council did not make a holiday, or open a
branch on a holiday.
"""

from __future__ import annotations

import logging
import threading
from datetime import date, datetime
from typing import Mapping, Optional, Set, Tuple

import chinese_calendar

logger = logging.getLogger("bot.bank.holidays")

# chinese_calendar names holidays in English; customers read Chinese.
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}

_warned_years: Set[int] = set()
_warned_lock = threading.Lock()


def _as_date(day: date) -> date:
    """Accept datetimes too (datetime is a date subclass with a time part)."""
    return day.date() if isinstance(day, datetime) else day


def _warn_unknown_year(year: int) -> None:
    """Log once per year that the holiday schedule is missing for it."""
    with _warned_lock:
        if year in _warned_years:
            return
        _warned_years.add(year)
    logger.warning(
        "chinese_calendar has no holiday schedule for %d; treating Monday-Friday as "
        "working days plus the bank exception table. Upgrade chinesecalendar or add "
        "that year's holidays to the exception table.",
        year,
    )


def _library_detail(day: date) -> Optional[Tuple[bool, Optional[str]]]:
    """(is_day_off, English holiday name) from the library, None if year unknown."""
    try:
        return chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        _warn_unknown_year(day.year)
        return None


def is_working_day(day: date, exceptions: Optional[Mapping[date, bool]] = None) -> bool:
    """True when branches follow their working-day hours on ``day``.

    Order: the bank exception table, then the national schedule (holidays off,
    调休 weekend days on), then plain weekdays for years the library lacks.
    """
    day = _as_date(day)
    if exceptions and day in exceptions:
        return bool(exceptions[day])
    detail = _library_detail(day)
    if detail is None:
        return day.weekday() < 5
    is_day_off, _name = detail
    return not is_day_off


def holiday_name(day: date) -> Optional[str]:
    """Chinese name of the public holiday ``day`` belongs to (国庆节), else None.

    Only days off carry a name: a 调休 working Saturday is not "National Day"
    for a customer even though the library links it to that holiday; use
    ``is_makeup_working_day`` for those. Ordinary weekends give None.
    """
    day = _as_date(day)
    detail = _library_detail(day)
    if detail is None:
        return None
    is_day_off, english = detail
    if not is_day_off or not english:
        return None
    return HOLIDAY_NAMES_ZH.get(english, english)


def is_makeup_working_day(day: date, exceptions: Optional[Mapping[date, bool]] = None) -> bool:
    """True for a Saturday or Sunday that is a working day (调休上班)."""
    day = _as_date(day)
    return day.weekday() >= 5 and is_working_day(day, exceptions)


def supported_years() -> Tuple[int, int]:
    """First and last year the installed chinese_calendar has schedules for."""
    known = chinese_calendar.holidays
    return min(known).year, max(known).year


__all__ = [
    "HOLIDAY_NAMES_ZH",
    "holiday_name",
    "is_makeup_working_day",
    "is_working_day",
    "supported_years",
]
