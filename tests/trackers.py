"""Trackers for running actions in process, as financial-demo does: a saved
conversation (tests/data/trackers/*.json) plus the customer's latest message."""
from __future__ import annotations

import copy
import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker

from bot.nlu.chinese_time import extract_times

HERE = Path(__file__).resolve().parent
DOMAIN_DIR = HERE.parent / "domain"


@lru_cache(maxsize=None)
def _saved(name: str) -> Dict[str, Any]:
    return json.loads((HERE / "data" / "trackers" / f"{name}.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def domain() -> Dict[str, Any]:
    """The project's domain as Rasa sends it to the action server."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(DOMAIN_DIR)).as_dict()


def tracker(name: str, text: str = "", intent: str = "inform", *, at: Optional[datetime] = None,
            entities: Optional[List[Dict[str, Any]]] = None, candidates: Optional[Dict[str, Any]] = None,
            **slots: Any) -> Tracker:
    """The saved tracker `name` after the customer said `text`.

    The message is classified as `intent` and carries `entities` plus the time
    entities our NLU finds when `at` is given. `candidates` are the slot values
    Rasa's slot mappings took from the message (what a form's validator is
    asked to check); `slots` are changed before the message.
    """
    state = copy.deepcopy(_saved(name))
    found = [match.to_entity() for match in extract_times(text, at)] if at else []
    message = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": found + list(entities or [])}
    state["latest_message"] = message
    state["slots"].update(slots)
    state["events"].extend({"event": "slot", "name": slot, "value": value} for slot, value in slots.items())
    state["events"].append({"event": "user", "text": text, "parse_data": message, "input_channel": "rest"})
    for slot, value in (candidates or {}).items():
        state["slots"][slot] = value
        state["events"].append({"event": "slot", "name": slot, "value": value})
    return Tracker.from_dict(state)
