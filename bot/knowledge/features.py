"""How a customer's question is turned into numbers, wherever the bot compares questions.

Character n-grams and jieba words of the normalised text (traditional and
full-width forms folded, the way the NLU sees it), TF-IDF weighted, and a
multilingual sentence embedding (bot/knowledge/sentences.py). The
knowledge-base matcher and the NLU's out-of-scope guard both use these.
"""
from __future__ import annotations

from typing import List

import jieba
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from bot.knowledge.sentences import SentenceEmbeddings
from bot.nlu.normalise import normalise


def matching_form(text: str) -> str:
    """The text as the features see it: normalised, lower-case, spaces collapsed."""
    return " ".join(normalise(text or "").lower().split())


def _words(text: str) -> List[str]:
    return [word for word in jieba.lcut(text) if word.strip()]


def question_features() -> FeatureUnion:
    return FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1)),
        ("words", TfidfVectorizer(analyzer=_words, sublinear_tf=True, min_df=1)),
        ("sentences", SentenceEmbeddings()),
    ])
