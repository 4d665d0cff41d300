"""Rasa component: `branch`, `district` and `service` entities from spaCy."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.entity_extractor import FindsEntities
from bot.nlu.gazetteer import Vocabulary, build_pipeline, find_names, vocabulary_from
from bot.nlu.model_files import load_json, save_json

VOCABULARY_FILE = "vocabulary.json"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True
)
class GazetteerEntityExtractor(GraphComponent, FindsEntities):
    """Names come from the bank's own vocabulary, not from a trained classifier.

    Training keeps the lookup tables and synonyms of the training data (the
    bank's vocabulary, bot/bank/vocabulary.py) in the model, so a model
    recognises exactly the names it was trained with; a new branch or alias
    is recognised after `make train`.
    """

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 vocab: Optional[Vocabulary] = None) -> None:
        self.component_config = config
        self._model_storage, self._resource = model_storage, resource
        self._nlp = build_pipeline(vocab) if vocab else None

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "GazetteerEntityExtractor":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        vocab = vocabulary_from(training_data.lookup_tables, training_data.entity_synonyms)
        return save_json(self._model_storage, self._resource, VOCABULARY_FILE, vocab)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "GazetteerEntityExtractor":
        return cls(config, model_storage, resource, load_json(model_storage, resource, VOCABULARY_FILE))

    def find_entities(self, text: str) -> List[Dict[str, Any]]:
        if self._nlp is None:
            return []
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
