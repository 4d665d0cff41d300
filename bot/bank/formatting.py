"""Dates and times written the one way customers and staff read them.

`chinese_date` gives 9月30日（周三）, with 今天/明天/后天 in front when the
day is that close and `today` is given; `month_day` gives 9月30日 where the
weekday would be noise (a loan's due date); `hm` gives 12:30. Every reply,
notification and console page formats dates here, so the bot never writes
9/30 in one place and 9月30号 in another.
"""
from __future__ import annotations

from datetime import date, time
from typing import Optional

WEEKDAY_LABELS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
RELATIVE_DAYS = {0: "今天", 1: "明天", 2: "后天"}


def hm(moment: Optional[time]) -> str:
    """12:30; empty for no time."""
    return moment.strftime("%H:%M") if moment else ""


def month_day(day: date) -> str:
    """9月30日."""
    return f"{day.month}月{day.day}日"


def chinese_date(day: date, today: Optional[date] = None) -> str:
    """9月30日（周三）, or 明天9月29日（周二） when `today` makes it close."""
    label = f"{month_day(day)}（{WEEKDAY_LABELS[day.weekday()]}）"
    relative = RELATIVE_DAYS.get((day - today).days) if today is not None else None
    return f"{relative}{label}" if relative else label
