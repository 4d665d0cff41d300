"""Small helpers every action shares: entity values from the latest message, buttons, shared slot names."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Iterable, List, Optional

from rasa_sdk import Tracker

from bot.clock import SHANGHAI
from bot.nlu.normalise import normalise

# The knowledge-base topic the bot last answered with (set by action_answer_question).
TOPIC_SLOT = "knowledge_topic"


def latest_text(tracker: Tracker) -> str:
    """What the customer last typed, as the NLU reads it: traditional characters simplified,
    full-width digits half-width (the tracker keeps the original for transcripts)."""
    return normalise(tracker.latest_message.get("text") or "")


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


# A time expression names a day only with one of these (明天, 周三, 3号, 10/3);
# 下午 or 十点 alone say nothing about the day.
DAY_WORDS = re.compile(r"[天日号號周週星期礼禮拜月今明后後昨前/\-]")


def entity_names_day(tracker: Tracker) -> bool:
    """Whether the latest message's time expression names a day, not only a time of day."""
    entity = _time_entity(tracker)
    if entity is None:
        return False
    return "text" not in entity or bool(DAY_WORDS.search(entity["text"]))  # no text: a button's day


def entity_moment(tracker: Tracker) -> Optional[datetime]:
    """The instant named in the latest message, when it names a clock time."""
    entity = _time_entity(tracker)
    if entity is None or isinstance(entity.get("value"), dict):
        return None
    if (entity.get("additional_info") or {}).get("grain") == "day":
        return None
    return _shanghai(entity["value"])


def buttons(pairs: Iterable[tuple]) -> List[dict]:
    """Rasa buttons from (title, payload) pairs."""
    return [{"title": title, "payload": payload} for title, payload in pairs]

