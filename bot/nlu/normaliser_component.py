"""Rasa pipeline component that normalises message text before tokenising."""
from __future__ import annotations

from typing import List, Optional, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.normalise import normalise
from bot.nlu.stateless import StatelessComponent


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class TextNormaliser(StatelessComponent):
    """Rewrites each message's text into its canonical form (see `normalise`).

    It runs on training data too, so the classifier learns and predicts on the
    same form. Only the NLU's copy changes: the user's event in the tracker
    keeps the original text, and offsets stay valid because the mapping is
    length-preserving.
    """

    # Read by bot.serving: a payload's text must still pass through this component.
    rewrites_text = True

    @staticmethod
    def _normalise_message(message: Message) -> None:
        text: Optional[Text] = message.get(TEXT)
        if text:
            message.set(TEXT, normalise(text))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalise_message(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalise_message(message)
        return messages
