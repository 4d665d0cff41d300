"""Moving a loan's monthly debit day (扣款日) — the date arithmetic.

The rule the bank shipped in the epidemic: the new debit day may be any day
from the 1st to the 28th (every month has those), and the next payment may
move later by at most one month, never earlier. The next due date under the
new day is the first date on that day of the month on or after the current
due date: due on the 25th, choosing the 15th moves the payment to the 15th of
next month (20 days gained); choosing the 28th moves it to the 28th of this
month (3 days).
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Optional

FIRST_DAY, LAST_DAY = 1, 28


@dataclass(frozen=True)
class DebitDayChange:
    """The outcome of asking for a new debit day."""

    ok: bool
    reason: str = ""  # "out_of_range", "same_day", "too_far", "earlier"
    new_due: Optional[date] = None
    days_gained: int = 0


def add_one_month(day: date) -> date:
    """The same day next month, clamped to the month's end (31 Jan -> 28/29 Feb)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_due_on_day(current_due: date, new_day: int) -> date:
    """The first date on `new_day` of a month that is not before `current_due`."""
    if new_day >= current_due.day:
        return current_due.replace(day=new_day)
    return add_one_month(current_due.replace(day=1)).replace(day=new_day)


def change_debit_day(current_due: date, new_day: int, target: Optional[date] = None) -> DebitDayChange:
    """Check a requested new debit day and say when the next payment falls.

    `target` is the exact date the customer named ("下个月28号"), when they
    named one; it must agree with the rule, so a payment is never pulled
    earlier or pushed more than a month.
    """
    if not FIRST_DAY <= new_day <= LAST_DAY:
        return DebitDayChange(False, "out_of_range")
    if new_day == current_due.day and target in (None, current_due):
        return DebitDayChange(False, "same_day")
    new_due = next_due_on_day(current_due, new_day)
    if target is not None and target != new_due:
        new_due = target
    if new_due < current_due:
        return DebitDayChange(False, "earlier")
    if new_due > add_one_month(current_due):
        return DebitDayChange(False, "too_far")
    return DebitDayChange(True, new_due=new_due, days_gained=(new_due - current_due).days)
