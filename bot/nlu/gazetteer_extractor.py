"""Rasa component: `branch`, `district` and `service` entities from spaCy."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe

from bot.bank.profile import load_profile
from bot.nlu.entity_extractor import RuleEntityExtractor
from bot.nlu.gazetteer import build_pipeline, find_names


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class GazetteerEntityExtractor(RuleEntityExtractor):
    """Names come from the bank's own tables, not from a trained model.

    Rebuilt at load time from the bank profile, so a new branch or alias is
    recognised after a restart without retraining.
    """

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        self._nlp = build_pipeline(load_profile())

    def find_entities(self, text: str) -> List[Dict[str, Any]]:
        return [
            {
                "entity": match.entity,
                "start": match.start,
                "end": match.end,
                "value": match.value,
                "text": text[match.start : match.end],
                "confidence": 1.0,
            }
            for match in find_names(self._nlp, text)
        ]
