"""Rasa component: Chinese dates and times as Duckling-style `time` entities."""
from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe

from bot.clock import now
from bot.nlu.chinese_time import extract_times
from bot.nlu.entity_extractor import RuleEntityExtractor


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class ChineseTimeExtractor(RuleEntityExtractor):
    """Replaces Duckling (a separate Haskell server that reads Chinese poorly).

    Values are resolved against the current time in Asia/Shanghai, with the
    same shape Duckling gives, so forms can read them the same way.
    """

    def find_entities(self, text: str) -> List[Dict[str, Any]]:
        return [match.to_entity() for match in extract_times(text, now())]
