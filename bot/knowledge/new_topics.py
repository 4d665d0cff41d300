"""Rasa component: a question for a topic published after training goes to the knowledge base.

The NLU learns `ask_question` from the topics published when it is trained
(bot/knowledge/training_data.py); which topic a question asks is the
matcher's call at run time, over what is published then. But a topic staff
publish later reaches the matcher only if the NLU hands its questions over,
and the trained intents never saw them: 导盲犬能进网点吗, for a new topic on
guide dogs, is read as `find_branch` at 0.93, and the customer is sent to
find a branch.

So the model keeps the questions it learned `ask_question` from. A
published topic none of whose questions were among them is new to the
model. While the bank has such topics, this component asks a matcher over
everything published (bot/knowledge/live.py, rebuilt within the refresh
interval of a publish) which topic answers the message; when it is a new
one, at least as surely as the matcher must be after an NLU miss
(`routing.AFTER_A_MISS`), the message becomes `ask_question`, and the
action server answers it from the same published corpus. When no new topic
is published it builds no matcher and changes nothing: the trained model's
answers, and the benchmark's, stay as they were until the next training
makes the topic a trained one.

Intents in `keep` are never overruled, as in the out-of-scope guard: form
answers, and the reports of a customer in trouble.

While a new topic is published, each change to what is published trains a
matcher in the Rasa server process (seconds of CPU, on a background
thread); the next `make train` makes the topic a trained one and ends that.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Sequence, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.bank.knowledge.topics import Article
from bot.knowledge.features import matching_form
from bot.knowledge.live import Corpus, LiveCorpus
from bot.knowledge.matcher import Match
from bot.knowledge.routing import AFTER_A_MISS, QUESTION_INTENT
from bot.nlu.model_files import load_json, save_json
from bot.nlu.scope_guard import relabel

LEARNED_FILE = "learned_questions.json"
logger = logging.getLogger(__name__)


def is_new(article: Article, learned: FrozenSet[str]) -> bool:
    """A topic the model never learned a question of (published since, or all its questions rewritten)."""
    return not any(matching_form(example) in learned for example in article.examples)


def new_topic_match(corpus: Corpus, learned: FrozenSet[str], text: str, threshold: float) -> Optional[Match]:
    """The new topic that answers `text`: the matcher's best, new to the model, surer than
    `threshold` and than "no topic answers this"; else None."""
    if corpus.matcher is None:
        return None
    ranked = corpus.matcher.rank(text, limit=1)
    if not ranked or not is_new(corpus.articles[ranked[0].key], learned):
        return None
    return corpus.matcher.best(text, threshold)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class NewTopicRouter(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"threshold": AFTER_A_MISS, "keep": []}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 learned: Iterable[str] = ()) -> None:
        self.component_config = {**self.get_default_config(), **config}
        self._model_storage, self._resource = model_storage, resource
        self.learned = frozenset(learned)
        self.corpus = LiveCorpus(needs_matcher=self._any_new)

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "NewTopicRouter":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        learned = sorted({matching_form(example.get(TEXT)) for example in training_data.intent_examples
                          if example.get(INTENT) == QUESTION_INTENT and example.get(TEXT)})
        return save_json(self._model_storage, self._resource, LEARNED_FILE, learned)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "NewTopicRouter":
        router = cls(config, model_storage, resource, load_json(model_storage, resource, LEARNED_FILE))
        router.corpus.latest()   # the first load starts now, in the background
        return router

    def _any_new(self, articles: Sequence[Article]) -> bool:
        return any(is_new(article, self.learned) for article in articles)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if not message.get(TEXT) or not intent or intent in (QUESTION_INTENT, *self.component_config["keep"]):
                continue   # the knowledge base is asked already, or the intent must stand
            match = self._new_topic_for(message.get(TEXT))
            if match is not None:
                relabel(message, QUESTION_INTENT, match.score)
        return messages

    def _new_topic_for(self, text: str) -> Optional[Match]:
        """The new topic that answers `text`, if any; a failure here leaves the parse as trained."""
        corpus = self.corpus.latest()   # never waits: this runs on the server's event loop
        if corpus is None:
            return None
        try:
            return new_topic_match(corpus, self.learned, text, self.component_config["threshold"])
        except Exception:
            logger.warning("new topics not asked; the message keeps its intent", exc_info=True)
            return None
