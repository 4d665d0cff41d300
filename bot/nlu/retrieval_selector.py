"""A response selector that selects only for its own retrieval intent."""
from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import RESPONSE_SELECTOR_PROPERTY_NAME, RESPONSE_SELECTOR_RETRIEVAL_INTENTS
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class RetrievalIntentSelector(ResponseSelector):
    """Rasa's `ResponseSelector`, run only on messages classified as its retrieval intent.

    Rasa runs every selector on every message, although a selector's answer
    is used only when the message's intent is the selector's retrieval
    intent (`howto` for the how-to answers, `faq` for the policy answers).
    Each selector is a neural network run per message: 12 % of the Rasa
    server's CPU under the load benchmark (docs/benchmarks.md, "Load"). For
    other messages this selector adds no prediction, only the list of
    retrieval intents, as Rasa does for every message. Training is Rasa's.
    """

    def process(self, messages: List[Message]) -> List[Message]:
        ours, others = [], []
        for message in messages:
            (ours if self._selects_for(message) else others).append(message)
        super().process(ours)
        for message in others:
            self._list_retrieval_intents(message)
        return messages

    def _selects_for(self, message: Message) -> bool:
        if not self.retrieval_intent:  # a selector for all retrieval intents at once
            return True
        return (message.get(INTENT) or {}).get(INTENT_NAME_KEY) == self.retrieval_intent

    def _list_retrieval_intents(self, message: Message) -> None:
        properties = message.get(RESPONSE_SELECTOR_PROPERTY_NAME, {})
        properties[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = self.all_retrieval_intents
        message.set(RESPONSE_SELECTOR_PROPERTY_NAME, properties, add_to_output=True)
