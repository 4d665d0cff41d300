"""Branch, district and service names found with a spaCy phrase matcher.

A blank Chinese spaCy pipeline (jieba segmentation, no downloaded model)
matches the bank's own vocabulary, which comes from the training data's
lookup tables (one per entity) and synonyms (phrase -> canonical value); see
bot/bank/vocabulary.py. Values are canonical, so "福田那个网点", "福田" and
"福田支行" all resolve to 福田支行.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

import jieba
import spacy
from spacy.language import Language
from spacy.util import filter_spans

# entity -> [(phrase, canonical value)]
Vocabulary = Dict[str, List[Tuple[str, str]]]


@dataclass(frozen=True)
class GazetteerMatch:
    """One matched name: entity type, canonical value, character span."""

    entity: str
    value: str
    start: int
    end: int


def vocabulary_from(lookup_tables: Sequence[Mapping], synonyms: Mapping[str, str]) -> Vocabulary:
    """Pair every phrase of each lookup table with its canonical value (itself if none)."""
    return {
        table["name"]: [(phrase, synonyms.get(phrase, phrase)) for phrase in table["elements"]]
        for table in lookup_tables
    }


def _teach_segmenter(phrases: Iterable[str]) -> None:
    """Make jieba keep each phrase whole, so matches align with tokens."""
    for phrase in phrases:
        jieba.add_word(phrase, freq=2000)


def build_pipeline(vocab: Vocabulary) -> Language:
    """A blank zh pipeline with an entity ruler over the vocabulary."""
    _teach_segmenter(phrase for entries in vocab.values() for phrase, _ in entries)
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns(
        [
            {"label": entity, "pattern": phrase, "id": value}
            for entity, entries in vocab.items()
            for phrase, value in entries
        ]
    )
    return nlp


def find_names(nlp: Language, text: str) -> List[GazetteerMatch]:
    """Longest, non-overlapping vocabulary matches in the text."""
    if not text.strip():
        return []
    doc = nlp(text)
    return [
        GazetteerMatch(span.label_, span.ent_id_, span.start_char, span.end_char)
        for span in filter_spans(list(doc.ents))
    ]
