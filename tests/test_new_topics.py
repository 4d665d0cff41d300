"""A topic staff publish after training: its questions go to the knowledge base, whatever DIET guessed.

The router is trained as `rasa train` trains it, on the `ask_question`
examples written from the demo knowledge base, and then meets topics
published in the bank database after that."""
from __future__ import annotations

import logging
import time
from datetime import datetime

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.bank.knowledge import topics
from bot.clock import SHANGHAI
from bot.knowledge.new_topics import NewTopicRouter
from bot.knowledge.training_data import INTENT, demo_articles, spread
from tests.bankdb import serve

NOW = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)
KEEP = ["inform", "report_fraud"]
GUIDE_DOGS = ["导盲犬能进网点吗", "可以带导盲犬去银行办业务吗", "视障人士带导盲犬能进营业厅吗", "盲人牵着导盲犬可以进去吗"]
# Written for this test, in none of the examples.
GUIDE_DOG_QUESTION = "我眼睛看不见 带着导盲犬能进你们银行吗"


def message(text: str, intent: str, confidence: float = 0.93) -> Message:
    return Message(data={"text": text, "intent": {"name": intent, "confidence": confidence},
                         "intent_ranking": [{"name": intent, "confidence": confidence}]})


@pytest.fixture
def router(bank_db, monkeypatch, tmp_path):
    """Trained on the demo topics' questions and loaded again, as a model is; the database is read on every call."""
    monkeypatch.setenv("HELPLINE_KNOWLEDGE_REFRESH", "0")
    (tmp_path / "model").mkdir()
    storage, resource = LocalModelStorage(tmp_path / "model"), Resource("new_topics")
    context = ExecutionContext(graph_schema=None, model_id="test")
    config = {**NewTopicRouter.get_default_config(), "keep": KEEP}
    examples = [Message(data={"text": example, "intent": INTENT})
                for article in demo_articles() for example in spread(article.examples)]
    NewTopicRouter.create(config, storage, resource, context).train(TrainingData(examples))
    return NewTopicRouter.load(config, storage, resource, context)


def publish_guide_dogs() -> None:
    serve(topics.save_draft, "guide_dogs", "导盲犬进网点", "导盲犬可以陪同您进入{bank_name}所有网点办理业务。",
          GUIDE_DOGS, author="editor", at=NOW)
    serve(topics.publish, "guide_dogs", author="boss", at=NOW)


def eventually(router: NewTopicRouter, seen, deadline: float = 120):
    """The router's corpus once its background refresh has seen what was published."""
    started = time.monotonic()
    while not seen(corpus := router.corpus.current()):
        assert time.monotonic() - started < deadline, "what was published never reached the router"
        time.sleep(0.05)
    return corpus


def published_since(router: NewTopicRouter):
    return eventually(router, lambda corpus: "guide_dogs" in corpus.articles)


def test_with_only_trained_topics_published_nothing_is_built_and_nothing_changes(router):
    assert router.corpus.current().matcher is None
    [said] = router.process([message(GUIDE_DOG_QUESTION, "find_branch")])
    assert said.get("intent")["name"] == "find_branch"


def test_a_question_for_a_topic_published_since_training_becomes_a_question(router):
    publish_guide_dogs()
    assert published_since(router).matcher is not None
    [said] = router.process([message(GUIDE_DOG_QUESTION, "find_branch")])
    assert said.get("intent")["name"] == "ask_question" and said.get("intent")["confidence"] >= 0.75
    assert said.get("intent_ranking")[1]["name"] == "find_branch"   # what DIET said stays in the ranking


def test_questions_for_trained_topics_and_kept_intents_stand(router):
    publish_guide_dogs()
    published_since(router)
    # A trained topic's question that DIET gave an action intent is the trained model's call, as before.
    [trained_topic] = router.process([message("提前还款要违约金吗", "request_deferral")])
    [report] = router.process([message(GUIDE_DOG_QUESTION, "report_fraud")])
    [answer] = router.process([message(GUIDE_DOG_QUESTION, "inform")])
    assert [said.get("intent")["name"] for said in (trained_topic, report, answer)] == \
        ["request_deferral", "report_fraud", "inform"]


def test_a_trained_topic_whose_questions_staff_rewrote_counts_as_new(router):
    serve(topics.save_draft, "early_repayment", "提前还款", "提前还款请在{app_name}「贷款」里申请。",
          GUIDE_DOGS, author="editor", at=NOW)
    serve(topics.publish, "early_repayment", author="boss", at=NOW)
    assert eventually(router, lambda corpus: corpus.matcher is not None).articles["early_repayment"].examples == \
        tuple(GUIDE_DOGS)


def test_when_the_bank_database_goes_away_messages_are_routed_by_what_was_published_before(router, monkeypatch,
                                                                                           tmp_path, caplog):
    publish_guide_dogs()
    published_since(router)
    monkeypatch.setenv("HELPLINE_DATA_DIR", str(tmp_path / "nothing-here"))
    caplog.set_level(logging.WARNING, logger="bot.knowledge.live")
    started = time.monotonic()
    while "not refreshed" not in caplog.text:      # each call starts a refresh, which fails in the background
        router.corpus.latest()
        assert time.monotonic() - started < 60, "the refresh never tried the database"
        time.sleep(0.05)
    [said] = router.process([message(GUIDE_DOG_QUESTION, "find_branch")])
    assert said.get("intent")["name"] == "ask_question"
