"""Small helpers every action shares: entity values, dates, Chinese wording."""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Iterable, List, Optional

from rasa_sdk import Tracker

from bot.clock import SHANGHAI

WEEKDAY_NAMES = "一二三四五六日"


def latest_entity(tracker: Tracker, name: str) -> Optional[Any]:
    """The first value of an entity in the customer's latest message."""
    return next(tracker.get_latest_entity_values(name), None)


def _time_entity(tracker: Tracker) -> Optional[dict]:
    """The first `time` entity of the latest message."""
    return next((e for e in tracker.latest_message.get("entities", []) if e.get("entity") == "time"), None)


def _shanghai(value: Any) -> Optional[datetime]:
    try:
        return datetime.fromisoformat(str(value)).astimezone(SHANGHAI)
    except ValueError:
        return None


def entity_day(tracker: Tracker) -> Optional[date]:
    """The day named in the latest message (a time instant or a range start)."""
    entity = _time_entity(tracker)
    if entity is None:
        return None
    value = entity.get("value")
    moment = _shanghai(value.get("from") if isinstance(value, dict) else value)
    return moment.date() if moment else None


def entity_moment(tracker: Tracker) -> Optional[datetime]:
    """The instant named in the latest message, when it names a clock time."""
    entity = _time_entity(tracker)
    if entity is None or isinstance(entity.get("value"), dict):
        return None
    if (entity.get("additional_info") or {}).get("grain") == "day":
        return None
    return _shanghai(entity["value"])


def say_day(day: date, today: date) -> str:
    """11月28日（周六）, with 今天/明天/后天 when it is close."""
    label = f"{day.month}月{day.day}日（周{WEEKDAY_NAMES[day.weekday()]}）"
    relative = {0: "今天", 1: "明天", 2: "后天"}.get((day - today).days)
    return f"{relative}{label}" if relative else label


def say_time(moment: time) -> str:
    return moment.strftime("%H:%M")


def buttons(pairs: Iterable[tuple]) -> List[dict]:
    """Rasa buttons from (title, payload) pairs."""
    return [{"title": title, "payload": payload} for title, payload in pairs]
