"""The debit-day rule: any day 1-28, later by at most one month, never earlier."""
from datetime import date

import pytest

from bot.bank.debit_day.rules import add_one_month, change_debit_day


@pytest.mark.parametrize(
    ("due", "new_day", "new_due", "gained"),
    [
        (date(2026, 2, 25), 15, date(2026, 3, 15), 18),   # the seed's example, moved to March
        (date(2026, 2, 25), 28, date(2026, 2, 28), 3),    # later the same month
        (date(2026, 3, 25), 24, date(2026, 4, 24), 30),   # the 25th to the 24th of next month
        (date(2026, 1, 30), 28, date(2026, 2, 28), 29),   # out of a 30th into February
        (date(2028, 1, 31), 28, date(2028, 2, 28), 28),   # leap year, from a month end
        (date(2026, 12, 25), 10, date(2027, 1, 10), 16),  # across the year end
        (date(2026, 12, 20), 1, date(2027, 1, 1), 12),
    ],
)
def test_the_next_due_date_moves_forward_within_a_month(due, new_day, new_due, gained):
    change = change_debit_day(due, new_day)
    assert change.ok and change.new_due == new_due and change.days_gained == gained


@pytest.mark.parametrize("new_day", [0, 29, 30, 31, 45])
def test_only_the_1st_to_the_28th_are_allowed(new_day):
    assert change_debit_day(date(2026, 2, 25), new_day).reason == "out_of_range"


def test_the_same_day_is_no_change():
    assert change_debit_day(date(2026, 2, 25), 25).reason == "same_day"


def test_a_named_date_more_than_a_month_later_is_refused():
    change = change_debit_day(date(2026, 2, 25), 28, target=date(2026, 3, 28))
    assert not change.ok and change.reason == "too_far"


def test_a_named_date_before_the_current_due_date_is_refused():
    change = change_debit_day(date(2026, 2, 25), 20, target=date(2026, 2, 20))
    assert not change.ok and change.reason == "earlier"


def test_one_month_later_is_clamped_to_the_month_end():
    assert add_one_month(date(2026, 1, 31)) == date(2026, 2, 28)
    assert add_one_month(date(2028, 1, 31)) == date(2028, 2, 29)
    assert add_one_month(date(2026, 12, 31)) == date(2027, 1, 31)
