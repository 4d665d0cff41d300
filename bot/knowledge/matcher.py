"""Which knowledge-base topic a customer's question asks, or none of them.

The matcher is trained in a second from the published topics' example
questions, so a topic staff publish is answered without `rasa train`: the
action server rebuilds it when the knowledge base changes
(`bot.knowledge.live`), and the console builds one with a draft to show
what the bot would answer.

Features are those of bot/knowledge/features.py (character n-grams, jieba
words and a multilingual sentence embedding); a one-vs-rest logistic regression (liblinear: seconds to train, not
minutes) gives each topic a probability. Questions
that no topic answers are a class of their own (`NOT_ANSWERED`), trained on
bot/knowledge/not_answered.yml; an example there that resembles a
published topic's example is left out, so publishing a topic about, say,
wealth products is not fought by that file. A question is answered only
when its best topic beats both that class and a threshold calibrated on
held-out questions (docs/benchmarks.md).

Training takes about 10 s of CPU, most of it liblinear, and every action
server, every console and many tests train one on the same published
topics. `make setup` saves the matchers of this checkout's corpora (the
published topics, or the demo's) with `python -m bot.knowledge.save_matchers`,
in each environment, keyed by everything training reads and the library
versions; `trained_matcher` loads the saved one when its key matches and
trains otherwise. The files are written beside the model at build time and
only read by servers, so they are as trusted as the model itself.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Iterable, List, Optional, Protocol, Sequence, Tuple

import joblib
import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from bot.knowledge.features import matching_form, question_features
from bot.knowledge.sentences import ENCODER
from bot.settings import ROOT

NOT_ANSWERED = "_not_answered"
NOT_ANSWERED_FILE = Path(__file__).with_name("not_answered.yml")
# An out-of-scope example this close (cosine of character n-grams) to a topic's
# example is taken to belong to that topic now, and is not trained as "none":
# against the demo knowledge base that leaves out 7 of the 400 (measured).
OVERLAP = 0.6
STORE = ROOT / "models" / "matchers"
logger = logging.getLogger(__name__)


class Article(Protocol):
    """What the matcher needs of a topic (bot.bank.knowledge.topics.Article has it)."""

    key: str
    examples: Sequence[str]


@dataclass(frozen=True)
class Match:
    key: str
    score: float


@lru_cache(maxsize=1)
def not_answered_examples() -> Tuple[str, ...]:
    """The shipped questions no topic answers (banking outside the topics, and small talk)."""
    raw = yaml.safe_load(NOT_ANSWERED_FILE.read_text(encoding="utf-8"))
    return tuple(str(example) for example in raw["examples"])


def _not_overlapping(negatives: List[str], examples: List[str]) -> List[str]:
    """The "none" examples that are not (nearly) a topic's example: cosine of character n-grams."""
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3)).fit(examples)
    similarity = vectorizer.transform(negatives) @ vectorizer.transform(examples).T
    closest = np.asarray(similarity.max(axis=1).todense()).ravel()
    return [text for text, score in zip(negatives, closest) if score < OVERLAP]


class Matcher:
    """Trained once per set of articles; `rank` and `best` are cheap (about a millisecond)."""

    def __init__(self, articles: Iterable[Article], not_answered: Optional[Sequence[str]] = None) -> None:
        texts, labels = [], []
        for article in articles:
            for example in article.examples:
                texts.append(matching_form(example))
                labels.append(article.key)
        self.keys = tuple(sorted(set(labels)))
        self.features = question_features()
        negatives = [matching_form(text) for text in (not_answered_examples() if not_answered is None
                                                       else not_answered)]
        if texts and negatives:
            negatives = _not_overlapping(negatives, texts)
        self.classifier: Optional[OneVsRestClassifier] = None
        if len(set(labels)) + (1 if negatives else 0) >= 2:
            # One class against the rest, as liblinear always did: written out, because
            # scikit-learn 1.8 (the console's environment) no longer does it implicitly.
            self.classifier = OneVsRestClassifier(LogisticRegression(C=10.0, solver="liblinear"))
            self.classifier.fit(self.features.fit_transform(texts + negatives), labels + [NOT_ANSWERED] * len(negatives))

    def rank(self, text: str, limit: int = 3) -> List[Match]:
        """The most likely topics for `text`, best first (never the "none" class)."""
        if self.classifier is None or not matching_form(text):
            return []
        probabilities = self.classifier.predict_proba(self.features.transform([matching_form(text)]))[0]
        ranked = sorted(zip(self.classifier.classes_, probabilities), key=lambda pair: -pair[1])
        return [Match(str(key), float(score)) for key, score in ranked if key != NOT_ANSWERED][:limit]

    def not_answered_score(self, text: str) -> float:
        if self.classifier is None or NOT_ANSWERED not in self.classifier.classes_:
            return 0.0
        probabilities = self.classifier.predict_proba(self.features.transform([matching_form(text)]))[0]
        return float(probabilities[list(self.classifier.classes_).index(NOT_ANSWERED)])

    def best(self, text: str, threshold: float) -> Optional[Match]:
        """The topic that answers `text`, or None: nothing beats "none" and the threshold."""
        ranked = self.rank(text, limit=1)
        if not ranked or not answers(ranked[0].score, self.not_answered_score(text), threshold):
            return None
        return ranked[0]


def answers(score: float, declined: float, threshold: float) -> bool:
    """A topic answers when it is surer than the threshold and than "no topic answers this"."""
    return score >= threshold and score > declined


# The code that decides what a matcher computes: a change to any of it makes saved matchers stale.
_SOURCES = [Path(__file__), *(ROOT / "bot" / name for name in ("knowledge/features.py", "knowledge/sentences.py",
                                                                 "nlu/normalise.py"))]
_LIBRARIES = ("scikit-learn", "numpy", "scipy", "jieba", "opencc")


@lru_cache(maxsize=1)
def _code_version() -> str:
    sources = hashlib.sha256(b"".join(path.read_bytes() for path in _SOURCES)).hexdigest()
    return ";".join([sources, ENCODER, *(f"{name}=={_installed(name)}" for name in _LIBRARIES)])


def _installed(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


def _store_path(articles: Sequence[Article], store: Path) -> Path:
    """Where the matcher for `articles` and the shipped "none" class is saved: named by a hash of
    everything its training reads, the code that trains it and the libraries that must unpickle it."""
    trained_on = [_code_version(), [(article.key, list(article.examples)) for article in articles],
                  list(not_answered_examples()), OVERLAP]
    digest = hashlib.sha256(json.dumps(trained_on, ensure_ascii=False).encode("utf-8")).hexdigest()[:24]
    return store / f"{digest}.joblib"


def trained_matcher(articles: Iterable[Article], store: Path = STORE) -> Matcher:
    """A matcher for `articles`: the one saved for exactly these, else one trained now."""
    articles = list(articles)
    path = _store_path(articles, store)
    if path.exists():
        try:
            return joblib.load(path)
        except Exception:   # unpickling a damaged file fails in many ways; training never does
            logger.warning("saved matcher %s not loaded; training one", path, exc_info=True)
    return Matcher(articles)


def save_matcher(articles: Iterable[Article], store: Path = STORE) -> Path:
    """Train and save the matcher for `articles`, unless it is saved already (the name says what
    it was trained on); written atomically, since servers may be reading the folder."""
    articles = list(articles)
    path = _store_path(articles, store)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    joblib.dump(Matcher(articles), partial)
    partial.replace(path)
    return path

