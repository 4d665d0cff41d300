"""The lean graph runner gives exactly Rasa's answers (bot/serving/graph_runner.py).

One trained model is loaded once; every parse and every next-action
prediction is made twice on the same nodes, by Rasa's `DaskGraphRunner.run`
and by `LeanGraphRunner.run`, and the results must be equal field by field.
Counters on the DIET and TED nodes show that the shortcuts were taken.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.policies.policy import PolicyPrediction
from rasa.engine import loader
from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.model import get_latest_model
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected, UserUttered
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.importers.importer import TrainingDataImporter

from bot.serving.graph_runner import LeanGraphRunner, ted_could_win

ROOT = Path(__file__).resolve().parents[1]

TYPED = ["福田支行周六开门吗", "手機銀行怎麼開通", "扣款日能改到20号吗", "我的卡被盗刷了", "🙏🙏🙏", "",
         "跨行转账要手续费吗", "／affirm", "/help me", "帮我约明天下午三点去南山支行办面签"]
PAYLOADS = ['/inform{"branch":"福田支行"}', '/inform{"branch":"羅湖支行"}', "/affirm", "  /deny  ",
            '/inform{"slot_id":"19"}', "/affirm@0.4", '/inform{"service":"面签"}',
            "/no_such_intent", '/inform{"branch":', "/book_appointment"]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = get_latest_model(str(ROOT / "models"))
    if path is None:
        pytest.skip("no trained model (make train)")
    metadata, runner = loader.load_predict_graph_runner(
        tmp_path_factory.mktemp("model"), Path(path), LocalModelStorage, LeanGraphRunner)
    return metadata, runner


def counting(runner: LeanGraphRunner, node: str) -> Counter:
    """Count how often `node` runs from now on."""
    calls: Counter = Counter()
    graph_node = runner._instantiated_nodes[node]
    original = graph_node._fn

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls["runs"] += 1
        return original(*args, **kwargs)

    graph_node._fn = counted
    return calls


def node_of(metadata, class_name: str) -> str:
    return next(name for name, node in metadata.predict_schema.nodes.items() if node.uses.__name__ == class_name)


def parse_both(metadata, runner: LeanGraphRunner, text: str) -> List[Dict[str, Any]]:
    message = UserMessage(text, sender_id="equivalence")
    inputs = {PLACEHOLDER_MESSAGE: [message], PLACEHOLDER_TRACKER: DialogueStateTracker("equivalence", [])}
    target = metadata.nlu_target
    return [run(runner, inputs, [target])[target][0].as_dict(only_output_properties=True)
            for run in (DaskGraphRunner.run, LeanGraphRunner.run)]


@pytest.mark.parametrize("text", TYPED + PAYLOADS)
def test_a_parse_is_rasas(model, text: str) -> None:
    rasas, ours = parse_both(*model, text)
    assert ours == rasas


def test_a_payload_naming_an_intent_skips_the_classifiers(model) -> None:
    metadata, runner = model
    diet = counting(runner, node_of(metadata, "DIETClassifier"))
    LeanGraphRunner.run(runner, {PLACEHOLDER_MESSAGE: [UserMessage('/inform{"branch":"福田支行"}')]},
                        [metadata.nlu_target])
    assert diet["runs"] == 0
    for text in ("/no_such_intent", "福田支行周六开门吗"):
        LeanGraphRunner.run(runner, {PLACEHOLDER_MESSAGE: [UserMessage(text)]}, [metadata.nlu_target])
    assert diet["runs"] == 2


def story_trackers(domain: Domain) -> Iterator[DialogueStateTracker]:
    """Complete trackers of the training stories and the conversation tests."""
    importer = TrainingDataImporter.load_from_dict(
        training_data_paths=[str(ROOT / "data" / "stories"), str(ROOT / "tests" / "conversations")],
        domain_path=str(ROOT / "domain"))
    generator = TrainingDataGenerator(importer.get_stories(), domain, use_story_concatenation=False,
                                      augmentation_factor=0)
    yield from generator.generate_story_trackers()


def prefixes_before_each_action(tracker: DialogueStateTracker, domain: Domain) -> Iterator[DialogueStateTracker]:
    """The story so far, wherever `rasa test` would predict the next action."""
    events = list(tracker.events)
    partial = DialogueStateTracker.from_events(tracker.sender_id, events[:1], domain.slots)
    for event in events[1:]:
        if isinstance(event, ActionExecuted):
            yield partial.copy()
        partial.update(event)


def off_script(tracker: DialogueStateTracker, domain: Domain) -> Iterator[DialogueStateTracker]:
    """The story's first turn, then every intent of the domain as the next message.

    Most of these second messages are in no story or rule (a goodbye in the
    middle of a form, a thank-you before anything happened): TED's cases.
    """
    listens = [i for i, event in enumerate(tracker.events)
               if isinstance(event, ActionExecuted) and event.action_name == "action_listen"]
    if len(listens) < 2:
        return
    first_turn = list(tracker.events)[:listens[1] + 1]
    for intent in domain.intents:
        yield DialogueStateTracker.from_events(tracker.sender_id, [*first_turn, UserUttered(intent={"name": intent})],
                                               domain.slots)


def test_every_next_action_prediction_is_rasas(model) -> None:
    metadata, runner = model
    domain, target = metadata.domain, metadata.core_target
    ted = counting(runner, node_of(metadata, "TEDPolicy"))
    compared = 0
    for story in story_trackers(domain):
        for tracker in [*prefixes_before_each_action(story, domain), *off_script(story, domain)]:
            rasas, ours = (run(runner, {PLACEHOLDER_TRACKER: tracker}, [target])[target]
                           for run in (DaskGraphRunner.run, LeanGraphRunner.run))
            assert ours == rasas, tracker.sender_id
            assert ours.max_confidence == rasas.max_confidence
            compared += 1
    assert compared > 1000
    # Rasa's runs call TED every time; ours only when its prediction could win: some, not all.
    ours_with_ted = ted["runs"] - compared
    assert 0 < ours_with_ted < compared


def prediction(confidences: List[float], priority: int, **flags: bool) -> PolicyPrediction:
    return PolicyPrediction(confidences, f"policy{priority}", priority, **flags)


def test_ted_is_needed_unless_a_higher_policy_is_certain(model) -> None:
    domain = model[0].domain
    listen = DialogueStateTracker.from_events("t", [ActionExecuted("action_listen"), UserUttered("hi")])
    size = domain.num_actions
    certain = [0.0] * size
    certain[domain.index_for_action("utter_greet")] = 1.0
    unsure = [0.0] * size
    unsure[domain.index_for_action("utter_greet")] = 0.9
    assert not ted_could_win([prediction(certain, 6)], 1, listen, domain)
    assert ted_could_win([prediction(unsure, 6)], 1, listen, domain)
    assert ted_could_win([prediction(certain, 1)], 2, listen, domain)  # a certain policy TED outranks
    assert not ted_could_win([prediction(unsure, 6, is_no_user_prediction=True)], 1, listen, domain)
    assert not ted_could_win([prediction(unsure, 6, is_end_to_end_prediction=True)], 1, listen, domain)
    # The ensemble zeroes the action whose execution was just rejected: then the rule is not certain.
    rejected = DialogueStateTracker.from_events("t", [ActionExecuted("action_listen"), UserUttered("hi"),
                                                      ActionExecutionRejected("utter_greet")])
    assert ted_could_win([prediction(certain, 6)], 1, rejected, domain)
