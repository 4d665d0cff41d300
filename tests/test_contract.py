"""The domain, training data and held-out set honour the intent contract."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.loading import load_data

from bot.bank.profile import load_profile
from bot.nlu.contract import ENTITIES, INTENTS, RETRIEVAL_KEYS, all_labels, retrieval_labels
from bot.nlu.normalise import normalise

ROOT = Path(__file__).resolve().parents[1]
MIN_TRAINING, MIN_HELDOUT = 30, 12


def label_of(example) -> str:
    return example.get(INTENT_RESPONSE_KEY) or example.get(INTENT)


def comparable(text: str) -> str:
    """Text as the classifier sees it, without punctuation or spaces."""
    return re.sub(r"[\W_]+", "", normalise(text).lower())


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain"))


@pytest.fixture(scope="module")
def training():
    return load_data(str(ROOT / "data" / "nlu"))


@pytest.fixture(scope="module")
def heldout():
    return load_data(str(ROOT / "bench" / "heldout"))


def test_every_contract_intent_and_entity_is_in_the_domain(domain):
    missing = set(INTENTS) - set(domain.intents)
    assert not missing
    assert set(RETRIEVAL_KEYS) <= set(domain.intents)
    assert set(ENTITIES) <= set(domain.entities)


def test_every_retrieval_key_has_an_answer(domain):
    for label in retrieval_labels():
        assert f"utter_{label}" in domain.responses, label


@pytest.mark.parametrize("label", all_labels())
def test_each_label_has_enough_varied_training_examples(training, label):
    texts = [ex.get(TEXT) for ex in training.training_examples if label_of(ex) == label]
    assert len(texts) >= MIN_TRAINING
    assert len({comparable(text) for text in texts}) == len(texts), "duplicates"


@pytest.mark.parametrize("label", all_labels())
def test_each_label_has_a_heldout_set(heldout, label):
    count = sum(1 for ex in heldout.training_examples if label_of(ex) == label)
    assert count >= MIN_HELDOUT


def test_heldout_never_appears_in_training(training, heldout):
    seen = {comparable(ex.get(TEXT)) for ex in training.training_examples}
    leaked = [ex.get(TEXT) for ex in heldout.training_examples if comparable(ex.get(TEXT)) in seen]
    assert not leaked


def test_no_example_is_labelled_twice(training):
    labels = {}
    for ex in training.training_examples:
        labels.setdefault(comparable(ex.get(TEXT)), set()).add(label_of(ex))
    conflicts = {text: found for text, found in labels.items() if len(found) > 1}
    assert not conflicts


def test_jieba_dictionary_knows_every_branch():
    words = {line.split()[0] for line in (ROOT / "bot/nlu/dictionary/banking.txt").read_text("utf-8").splitlines() if line.strip()}
    for branch in load_profile().branches:
        assert branch["name"] in words


def test_domain_fallback_values_match_the_bank_profile(domain):
    """The slots default to the profile's values when no action has run yet."""
    profile = load_profile()
    slots = {slot.name: slot for slot in domain.slots}
    assert slots["bank_name"].initial_value == profile.name
    assert slots["bank_hotline"].initial_value == profile.hotline
    assert slots["crisis_line"].initial_value == profile.crisis_line


def test_training_examples_are_not_one_word_templates(training):
    """No label may be built mostly from one sentence with a word swapped."""
    by_label = Counter()
    shapes = Counter()
    for ex in training.training_examples:
        text = comparable(ex.get(TEXT))
        if len(text) >= 6:
            shapes[(label_of(ex), text[:3], text[-3:])] += 1
            by_label[label_of(ex)] += 1
    crowded = {key: n for key, n in shapes.items() if n > max(5, by_label[key[0]] // 5)}
    assert not crowded
