"""The building blocks of the service insights: periods, rates, durations.

Kept apart from the queries so the figures' arithmetic (what an empty
period gives, how a percentile is taken, when a target counts as met) is
defined once and reads the same in the dashboard, the JSON and the CSVs.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import List, Optional, Sequence

from bot.clock import SHANGHAI

MAX_DAYS = 366

# The bank's targets from the epidemic service plan (seed 003). "70%以上" is
# read as "at least 70%", as 以上 includes the number itself in Chinese usage.
ONLINE_SHARE_TARGET = 0.70      # 在线交易比例达到70%以上
CSAT_TARGET = 0.85              # 客户满意度提升至85%以上
CALLBACK_TARGET = 0.80          # 关怀客户的回访成功率达到80%以上


@dataclass(frozen=True)
class Period:
    """Whole days `first`..`last` (inclusive) in Asia/Shanghai."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the period ends before it starts")
        if (self.last - self.first).days >= MAX_DAYS:
            raise ValueError(f"a period is at most {MAX_DAYS} days")

    @property
    def start(self) -> datetime:
        """Midnight opening the first day."""
        return datetime.combine(self.first, time(0), tzinfo=SHANGHAI)

    @property
    def end(self) -> datetime:
        """Midnight after the last day (excluded)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=SHANGHAI)

    def days(self) -> List[date]:
        return [self.first + timedelta(days=offset) for offset in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class Rate:
    """`numerator` out of `denominator`; `value` is None when nothing was counted.

    `met` says whether the value reaches `target` (None without a target or a value).
    """

    numerator: int
    denominator: int
    value: Optional[float]
    target: Optional[float] = None
    met: Optional[bool] = None

    @classmethod
    def of(cls, numerator: int, denominator: int, target: Optional[float] = None) -> "Rate":
        value = round(numerator / denominator, 4) if denominator else None
        met = None if value is None or target is None else value >= target
        return cls(numerator, denominator, value, target, met)


@dataclass(frozen=True)
class Durations:
    """How long things took: count, median and 90th percentile (nearest rank)."""

    count: int
    median: Optional[float]
    p90: Optional[float]

    @classmethod
    def of(cls, values: Sequence[float]) -> "Durations":
        if not values:
            return cls(0, None, None)
        ordered = sorted(values)
        p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]
        return cls(len(ordered), round(statistics.median(ordered), 1), round(p90, 1))


def minutes_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds() / 60
