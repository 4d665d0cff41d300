"""Shared plumbing for our entity extractors: they find entities by rule or by name list."""
from __future__ import annotations

from typing import Any, Dict, List

from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.stateless import StatelessComponent


class FindsEntities(EntityExtractorMixin):
    """Subclasses only find entities in a text; this adds them to each message.

    Training examples carry no entity annotations (these extractors own the
    entities), so processing training data is a no-op.
    """

    def find_entities(self, text: str) -> List[Dict[str, Any]]:
        """Entities in the (normalised) text, without the `extractor` key."""
        raise NotImplementedError

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            found = self.find_entities(message.get(TEXT) or "")
            if found:
                found = self.add_extractor_name(found)
                message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages


class RuleEntityExtractor(StatelessComponent, FindsEntities):
    """Base for extractors that need no training data at all (times, numbers)."""
