"""The current time in the bank's time zone.

Everything that reads "now" (relative dates, "open now?", booking windows)
goes through `now()`, so a demo or a conversation test can pin the clock with
`HELPLINE_NOW=2026-10-01T10:00:00+08:00` and get the same answers every day.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional
from zoneinfo import ZoneInfo

from bot.settings import settings

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """Aware current time in Asia/Shanghai, or the pinned `HELPLINE_NOW`."""
    pinned = settings().pinned_now
    if pinned:
        moment = datetime.fromisoformat(pinned)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=SHANGHAI)
        return moment.astimezone(SHANGHAI)
    return datetime.now(SHANGHAI)


def local(moment: Optional[datetime]) -> Optional[datetime]:
    """A stored timestamp as aware Shanghai time.

    SQLite gives back the naive wall-clock time it was given (always
    Shanghai here); PostgreSQL gives an aware time in the server's zone.
    """
    if moment is None:
        return None
    return moment.replace(tzinfo=SHANGHAI) if moment.tzinfo is None else moment.astimezone(SHANGHAI)
