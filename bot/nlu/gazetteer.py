"""Branch, district and service names found with a spaCy phrase matcher.

A blank Chinese spaCy pipeline (jieba segmentation, no downloaded model)
matches the bank's own vocabulary: every branch's name and aliases, the
districts that have branches, and the bookable services with their
synonyms. Values are canonical, so "福田那个网点", "福田" and "福田支行" all
resolve to 福田支行.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Tuple

import jieba
import spacy
from spacy.language import Language
from spacy.util import filter_spans

from bot.bank.profile import BankProfile


@dataclass(frozen=True)
class GazetteerMatch:
    """One matched name: entity type, canonical value, character span."""

    entity: str
    value: str
    start: int
    end: int


def vocabulary(profile: BankProfile) -> Dict[str, List[Tuple[str, str]]]:
    """entity -> [(phrase, canonical value)] from the bank profile."""
    branches = [
        (phrase, branch["name"])
        for branch in profile.branches
        for phrase in (branch["name"], *branch.get("aliases", []))
    ]
    claimed = {phrase for phrase, _ in branches}
    districts = sorted({(b["district"], b["district"]) for b in profile.branches})
    # "南山" alone names the branch; only an unclaimed short form means the district.
    districts += [
        (name[:-1], name) for name, _ in districts
        if name.endswith("区") and name[:-1] not in claimed
    ]
    services = [
        (phrase, service["name"])
        for service in profile.services
        for phrase in (service["name"], *service.get("synonyms", []))
    ]
    return {"branch": branches, "district": districts, "service": services}


def _teach_segmenter(phrases: Iterable[str]) -> None:
    """Make jieba keep each phrase whole, so matches align with tokens."""
    for phrase in phrases:
        jieba.add_word(phrase, freq=2000)


def build_pipeline(profile: BankProfile) -> Language:
    """A blank zh pipeline with an entity ruler over the bank's vocabulary."""
    vocab = vocabulary(profile)
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
