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
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, List, Optional, Protocol, Sequence, Tuple

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from bot.knowledge.features import matching_form, question_features

NOT_ANSWERED = "_not_answered"
NOT_ANSWERED_FILE = Path(__file__).with_name("not_answered.yml")
# An out-of-scope example this close (cosine of character n-grams) to a topic's
# example is taken to belong to that topic now, and is not trained as "none":
# against the demo knowledge base that leaves out 7 of the 400 (measured).
OVERLAP = 0.6


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
