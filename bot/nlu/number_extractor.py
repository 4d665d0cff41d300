"""Rasa component: `phone`, `loan_ref` and `debit_day` entities from rules."""
from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe

from bot.nlu.chinese_time import find_debit_day
from bot.nlu.entity_extractor import RuleEntityExtractor
from bot.nlu.identifiers import Found, find_loan_refs, find_phones


def _entity(name: str, found: Found, text: str, value: Any) -> Dict[str, Any]:
    return {
        "entity": name,
        "start": found.start,
        "end": found.end,
        "value": value,
        "text": text[found.start : found.end],
        "confidence": 1.0,
    }


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class NumberEntityExtractor(RuleEntityExtractor):
    """Structured numbers need exact values, which rules give and DIET does not."""

    def find_entities(self, text: str) -> List[Dict[str, Any]]:
        entities = [_entity("phone", f, text, f.value) for f in find_phones(text)]
        entities += [_entity("loan_ref", f, text, f.value) for f in find_loan_refs(text)]
        debit_day = find_debit_day(text)
        if debit_day:
            day, start, end = debit_day
            entities.append(_entity("debit_day", Found(str(day), start, end), text, day))
        return entities
