"""Rasa component: a second opinion on whether a message is anything the bot handles.

DIET picks the most likely of the intents it knows, and for a banking
question none of them covers (wealth products, insurance, foreign
exchange...) that is often a confident, wrong intent: on the blind dev set,
out-of-scope questions were taken as find_branch, ask_opening_hours or
report_hardship. This guard is a separate classifier, in scope or not,
trained on the same training data (the `out_of_scope` examples against all
others) with the question features of bot/knowledge/features.py, which
include a multilingual sentence embedding. When it gives "out of scope" at
least `threshold` (calibrated on the dev set: `make bench-nlu ARGS=--calibrate`)
the message becomes `out_of_scope`, and the bot says honestly that it does
not know, with the ways forward.

Intents in `keep` are never overruled: a form's answers (inform, affirm,
deny), where a short reply means something only in context, and the
reports a customer in trouble makes (fraud, a lost card, distress,
hardship), which must reach a person even when worded strangely.
The guard's own reading is in the parse as `scope` for the benchmark.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

import joblib
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from bot.knowledge.features import matching_form, question_features

OUT_OF_SCOPE = "out_of_scope"
MODEL_FILE = "scope_guard.joblib"
SCOPE_KEY = "scope"


def relabel(message: Message, intent: str, score: float) -> None:
    """Give `message` the intent `intent` at `score`, first in its ranking too
    (a component that overrules the classifiers: this guard, bot/knowledge/new_topics.py)."""
    ranking = message.get(INTENT_RANKING_KEY) or []
    message.set(INTENT, {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: score}, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [{INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: score}]
                + [entry for entry in ranking if entry.get(INTENT_NAME_KEY) != intent],
                add_to_output=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class OutOfScopeGuard(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"threshold": 0.5, "keep": []}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 classifier: Optional[Pipeline] = None) -> None:
        self.component_config = {**self.get_default_config(), **config}
        self._model_storage, self._resource = model_storage, resource
        self._classifier = classifier

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "OutOfScopeGuard":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [example for example in training_data.intent_examples if example.get(TEXT)]
        texts = [matching_form(example.get(TEXT)) for example in examples]
        labels = [int(example.get(INTENT) == OUT_OF_SCOPE) for example in examples]
        classifier = Pipeline([("features", question_features()),
                               ("classifier", LogisticRegression(C=10.0, solver="liblinear"))]).fit(texts, labels)
        with self._model_storage.write_to(self._resource) as directory:
            joblib.dump(classifier, directory / MODEL_FILE)
        return self._resource

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "OutOfScopeGuard":
        with model_storage.read_from(resource) as directory:
            classifier = joblib.load(directory / MODEL_FILE)
        guard = cls(config, model_storage, resource, classifier)
        guard.out_of_scope_score("预热")   # load the sentence encoder now, not on a customer's first message
        return guard

    def out_of_scope_score(self, text: str) -> float:
        return float(self._classifier.predict_proba([matching_form(text)])[0][1]) if self._classifier else 0.0

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            if not message.get(TEXT) or not intent:
                continue
            score = self.out_of_scope_score(message.get(TEXT))
            message.set(SCOPE_KEY, {"out_of_scope": round(score, 4), "intent": intent.get(INTENT_NAME_KEY)},
                        add_to_output=True)
            if score >= self.component_config["threshold"] and intent.get(INTENT_NAME_KEY) not in \
                    (OUT_OF_SCOPE, *self.component_config["keep"]):
                relabel(message, OUT_OF_SCOPE, score)
        return messages
