"""The domain's responses, read and filled outside a Rasa turn.

Every sentence a customer sees is a response in `domain/<topic>.yml`. Inside a
turn an action names the response and Rasa's NLG fills it. Some messages are
written outside a turn: by the bank's services into the outbox (an agent joined,
a staff decision, the satisfaction question) and by the channels before Rasa
answers (an apology, WeChat's reply to a picture). They are rendered here from
the same files, with the same fill rules as Rasa's
`rasa.core.nlg.interpolator` (`{name}` placeholders; an unknown name leaves
the text unfilled), so a reviewer reads one set of wording and a test pins the
two renderers together. Plain YAML only: the bank's layer may not import Rasa.
"""
from __future__ import annotations

import copy
import random
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List

import yaml

from bot.bank.profile import bank_slots

DOMAIN_DIR = Path(__file__).resolve().parents[1] / "domain"
PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")
FILLED_KEYS = ("text", "image", "custom", "buttons", "attachment", "quick_replies")


@lru_cache(maxsize=None)
def responses() -> Dict[str, List[Dict[str, Any]]]:
    """Every response of the domain by name, its variants in file order."""
    found: Dict[str, List[Dict[str, Any]]] = {}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        found.update((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {})
    return found


def fill_text(text: str, values: Dict[str, Any]) -> str:
    """Rasa's rule: every `{name}` must have a value, or the text stays as written."""
    try:
        filled = PLACEHOLDER.sub(r"{0[\1]}", text).format(values)
    except KeyError:
        return text
    return text.format({}) if "0[" in filled else filled


def _fill(part: Any, values: Dict[str, Any]) -> Any:
    if isinstance(part, str):
        return fill_text(part, values)
    if isinstance(part, list):
        return [_fill(item, values) for item in part]
    if isinstance(part, dict):
        return {key: _fill(item, values) for key, item in part.items()}
    return part


def render(name: str, **values: Any) -> Dict[str, Any]:
    """One message of response `name` (a random variant, as Rasa picks), filled with `values`
    over the bank's slots, as Rasa fills a turn's response from the tracker's slots.

    The message names its response in `metadata.utter_action`, as Rasa's own
    bot messages do, so transcripts and tests can tell which one was sent."""
    variant = copy.deepcopy(random.choice(responses()[name]))
    values = {**bank_slots(), **values}
    message = {key: (_fill(part, values) if key in FILLED_KEYS else part) for key, part in variant.items()
               if key not in ("channel", "condition", "id")}
    message["metadata"] = {**message.get("metadata", {}), "utter_action": name}
    return message


def text_of(name: str, **values: Any) -> str:
    """The text of response `name`, for the few places that need words, not a message."""
    return render(name, **values)["text"]
