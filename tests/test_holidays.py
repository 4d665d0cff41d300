"""Working days over chinese_calendar, with the fallback for years it lacks."""

from __future__ import annotations

import logging
from datetime import date, datetime

import pytest

from bot.bank.hours import holidays


@pytest.fixture(autouse=True)
def fresh_warnings():
    """Each test sees the once-per-year warning afresh."""
    holidays._warned_years.clear()
    yield
    holidays._warned_years.clear()


def _unsupported_year() -> int:
    return holidays.supported_years()[1] + 5


def test_national_day_is_a_holiday():
    assert holidays.is_working_day(date(2026, 10, 1)) is False
    assert holidays.holiday_name(date(2026, 10, 1)) == "国庆节"
    assert holidays.holiday_name(datetime(2026, 10, 2, 9, 30)) == "国庆节"


def test_other_holidays_have_chinese_names():
    assert holidays.holiday_name(date(2026, 1, 1)) == "元旦"
    assert holidays.holiday_name(date(2026, 2, 17)) == "春节"
    assert holidays.holiday_name(date(2026, 9, 25)) == "中秋节"


@pytest.mark.parametrize("day", [date(2026, 10, 10), date(2026, 9, 20), date(2026, 2, 14)])
def test_makeup_weekend_days_of_2026_are_working_days(day):
    # chinese_calendar 1.11.0: Sat 10 Oct and Sun 20 Sep 2026 are 调休 for National Day,
    # Sat 14 Feb for the Spring Festival.
    assert day.weekday() >= 5
    assert holidays.is_working_day(day) is True
    assert holidays.is_makeup_working_day(day) is True
    assert holidays.holiday_name(day) is None


def test_ordinary_weekend_is_not_a_working_day():
    saturday = date(2026, 10, 17)
    assert saturday.weekday() == 5
    assert holidays.is_working_day(saturday) is False
    assert holidays.is_makeup_working_day(saturday) is False
    assert holidays.holiday_name(saturday) is None


def test_ordinary_weekday_is_a_working_day():
    assert holidays.is_working_day(date(2026, 11, 24)) is True
    assert holidays.is_makeup_working_day(date(2026, 11, 24)) is False


def test_bank_exceptions_win_over_the_national_schedule():
    exceptions = {date(2026, 10, 10): False, date(2026, 10, 1): True}
    assert holidays.is_working_day(date(2026, 10, 10), exceptions) is False
    assert holidays.is_working_day(date(2026, 10, 1), exceptions) is True
    assert holidays.is_makeup_working_day(date(2026, 10, 10), exceptions) is False


def test_unsupported_year_falls_back_to_weekends_and_warns_once(caplog):
    year = _unsupported_year()
    monday = date(year, 1, 1)
    while monday.weekday() != 0:
        monday = monday.replace(day=monday.day + 1)
    saturday = monday.replace(day=monday.day + 5)
    with caplog.at_level(logging.WARNING, logger="bot.bank.holidays"):
        assert holidays.is_working_day(monday) is True
        assert holidays.is_working_day(saturday) is False
        assert holidays.holiday_name(monday) is None
        assert holidays.is_makeup_working_day(saturday) is False
    warnings = [r for r in caplog.records if r.name == "bot.bank.holidays"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert str(year) in warnings[0].getMessage()


def test_each_unknown_year_warns_separately(caplog):
    year = _unsupported_year()
    with caplog.at_level(logging.WARNING, logger="bot.bank.holidays"):
        holidays.is_working_day(date(year, 3, 2))
        holidays.is_working_day(date(year + 1, 3, 2))
        holidays.is_working_day(date(year + 1, 3, 3))
    assert len([r for r in caplog.records if r.name == "bot.bank.holidays"]) == 2


def test_unsupported_year_uses_the_exception_table():
    year = _unsupported_year()
    new_year = date(year, 1, 1)
    exceptions = {new_year: False}
    assert holidays.is_working_day(new_year, exceptions) is False
    saturday_shift = next(
        date(year, 2, d) for d in range(1, 8) if date(year, 2, d).weekday() == 5)
    assert holidays.is_makeup_working_day(saturday_shift, {saturday_shift: True}) is True


def test_2031_is_beyond_the_library():
    # The brief's example year: the installed data stops well before it.
    assert holidays.supported_years()[1] < 2031
    assert holidays.is_working_day(date(2031, 6, 7)) is False   # a Saturday
