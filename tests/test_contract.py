"""The domain, the training data, the knowledge base and the held-out sets honour one contract.

bench/labels.yml names every label a message can get: the contract's
intents (Rasa's NLU), the knowledge-base topics (`kb/<key>`) and
`out_of_scope`. The training data and the demo knowledge base cover each
with varied examples; the two held-out sets, written blind, cover each
too and never leak into anything the bot learns from.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.loading import load_data

from bot.knowledge.training_data import INTENT as QUESTION, demo_articles
from bot.bank.profile import load_profile
from bot.knowledge.matcher import not_answered_examples
from bot.nlu.contract import ENTITIES, INTENTS
from bot.nlu.normalise import normalise

ROOT = Path(__file__).resolve().parents[1]
MIN_TRAINING, MIN_TOPIC_EXAMPLES = 30, 55
MIN_HELDOUT = {"dev": 6, "test": 8}
HELDOUT_OUT_OF_SCOPE = 0.30
NOT_INTENTS = ("data/nlu/knowledge.yml", "data/nlu/bank_vocabulary.yml")   # written at training time


def comparable(text: str) -> str:
    """Text as the classifier sees it, without punctuation or spaces."""
    return re.sub(r"[\W_]+", "", normalise(text).lower())


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain"))


@pytest.fixture(scope="module")
def labels() -> Dict[str, str]:
    entries = yaml.safe_load((ROOT / "bench" / "labels.yml").read_text(encoding="utf-8"))["labels"]
    return {entry["id"]: entry["kind"] for entry in entries}


@pytest.fixture(scope="module")
def training() -> List[Tuple[str, str]]:
    """(text, intent) of the hand-written training data."""
    found = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        if str(path.relative_to(ROOT)) not in NOT_INTENTS:
            found += [(ex.get(TEXT), ex.get(INTENT)) for ex in load_data(str(path)).training_examples]
    return found


@pytest.fixture(scope="module")
def topics() -> Dict[str, Tuple[str, ...]]:
    return {article.key: article.examples for article in demo_articles()}


def heldout(name: str) -> List[Tuple[str, str]]:
    data = load_data(str(ROOT / "bench" / "heldout" / f"{name}.yml"))
    return [(ex.get(TEXT), ex.get("intent_response_key") or ex.get(INTENT)) for ex in data.training_examples]


def test_every_contract_intent_and_entity_is_in_the_domain(domain):
    assert not set(INTENTS) - set(domain.intents)
    assert set(ENTITIES) <= set(domain.entities)


def test_the_benchmark_labels_are_the_intents_the_topics_and_out_of_scope(labels, topics):
    assert {label for label, kind in labels.items() if kind == "intent"} == set(INTENTS) - {QUESTION, "out_of_scope"}
    assert {label for label, kind in labels.items() if kind == "topic"} == {f"kb/{key}" for key in topics}
    assert labels["out_of_scope"] == "none"


@pytest.mark.parametrize("intent", sorted(set(INTENTS) - {QUESTION}))
def test_each_intent_has_enough_varied_training_examples(training, intent):
    texts = [text for text, label in training if label == intent]
    assert len(texts) >= MIN_TRAINING
    assert len({comparable(text) for text in texts}) == len(texts), "duplicates"


def test_each_topic_has_enough_varied_examples(topics):
    for key, examples in topics.items():
        assert len(examples) >= MIN_TOPIC_EXAMPLES, key
        assert len({comparable(text) for text in examples}) == len(examples), key


@pytest.mark.parametrize("name", sorted(MIN_HELDOUT))
def test_each_label_has_held_out_examples_and_a_third_are_out_of_scope(labels, name):
    counts = Counter(label for _, label in heldout(name))
    assert {label: counts[label] for label in labels if counts[label] < MIN_HELDOUT[name]} == {}
    assert counts["out_of_scope"] / sum(counts.values()) >= HELDOUT_OUT_OF_SCOPE


def test_held_out_sentences_never_appear_in_what_the_bot_learns_from(training, topics):
    learned = {comparable(text) for text, _ in training}
    learned |= {comparable(text) for examples in topics.values() for text in examples}
    learned |= {comparable(text) for text in not_answered_examples()}
    leaked = [text for name in MIN_HELDOUT for text, _ in heldout(name) if comparable(text) in learned]
    assert leaked == []


def test_no_example_is_labelled_twice(training, topics):
    labels: Dict[str, set] = {}
    for text, intent in training:
        labels.setdefault(comparable(text), set()).add(intent)
    for key, examples in topics.items():
        for text in examples:
            labels.setdefault(comparable(text), set()).add(f"kb/{key}")
    for text in not_answered_examples():
        labels.setdefault(comparable(text), set()).add("not_answered")
    conflicts = {text: found for text, found in labels.items()
                 if len(found) > 1 and found != {"out_of_scope", "not_answered"}}
    assert conflicts == {}


def test_jieba_dictionary_knows_every_branch():
    words = {line.split()[0] for line in (ROOT / "bot/nlu/dictionary/banking.txt").read_text("utf-8").splitlines()
             if line.strip()}
    for branch in load_profile().branches:
        assert branch["name"] in words


def test_domain_fallback_values_match_the_bank_profile(domain):
    """The slots default to the profile's values when no action has run yet."""
    profile = load_profile()
    slots = {slot.name: slot for slot in domain.slots}
    assert slots["bank_name"].initial_value == profile.name
    assert slots["bank_hotline"].initial_value == profile.hotline
    assert slots["crisis_line"].initial_value == profile.crisis_line


def test_training_examples_are_not_one_word_templates(training, topics):
    """No label may be built mostly from one sentence with a word swapped."""
    by_label, shapes = Counter(), Counter()
    examples = training + [(text, f"kb/{key}") for key, texts in topics.items() for text in texts]
    for text, label in examples:
        text = comparable(text)
        if len(text) >= 6:
            shapes[(label, text[:3], text[-3:])] += 1
            by_label[label] += 1
    crowded = {key: n for key, n in shapes.items() if n > max(5, by_label[key[0]] // 5)}
    assert crowded == {}
