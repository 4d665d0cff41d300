"""Rasa pipeline component that routes blank input to the fallback."""
from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.stateless import StatelessComponent


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class BlankInputGuard(StatelessComponent):
    """Zeroes the intent confidence of messages with no words in them.

    A message of only emoji, spaces or control characters still gets a
    confident intent from DIET (there is always a nearest class). Placed
    before `FallbackClassifier`, this guard makes such input a low-confidence
    prediction, so the customer gets the helpful fallback instead of a guess.
    """

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not text.strip():
                intent = message.get(INTENT) or {}
                name = intent.get(INTENT_NAME_KEY)
                message.set(
                    INTENT,
                    {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 0.0},
                    add_to_output=True,
                )
        return messages
