"""What the bot would answer, before a draft is published.

The console asks Rasa's NLU for the intent of the question, as the bot
would, and then runs the same routing as the action server over the
published topics with the draft put in place of (or beside) its topic.
Matchers are kept per corpus, so trying several questions against one
draft trains once.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import List, Optional, Sequence

from bot.bank.knowledge.topics import Article
from bot.knowledge import routing
from bot.knowledge.matcher import Matcher, trained_matcher

_lock = threading.Lock()
_matchers: "OrderedDict[str, Matcher]" = OrderedDict()
KEEP = 4


@dataclass(frozen=True)
class Preview:
    intent: Optional[str]          # what the NLU said; None when Rasa could not be asked
    article: Optional[Article]     # the topic that would answer, or None ("I don't know" / an action)
    ranked: List[str]              # the matcher's best topics, best first, with scores


def _corpus_key(articles: Sequence[Article]) -> str:
    payload = json.dumps([(a.key, a.examples) for a in articles], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def matcher_for(articles: Sequence[Article]) -> Matcher:
    key = _corpus_key(articles)
    with _lock:
        if key in _matchers:
            _matchers.move_to_end(key)
            return _matchers[key]
    matcher = trained_matcher(articles)
    with _lock:
        _matchers[key] = matcher
        while len(_matchers) > KEEP:
            _matchers.popitem(last=False)
    return matcher


def with_draft(published: Sequence[Article], draft: Optional[Article]) -> List[Article]:
    """The published topics, the draft replacing its own topic's live revision."""
    others = [article for article in published if draft is None or article.key != draft.key]
    return others + ([draft] if draft else [])


def preview(articles: Sequence[Article], question: str, intent: Optional[str]) -> Preview:
    """The answer to `question`: as the bot would give it when the NLU says `intent`,
    or, without an intent, as the knowledge base alone would."""
    matcher = matcher_for(articles)
    ranked = [f"{match.key} {match.score:.2f}" for match in matcher.rank(question)]
    label = routing.label(intent or routing.QUESTION_INTENT, question, matcher)
    by_key = {article.key: article for article in articles}
    chosen = by_key.get(label[3:]) if label.startswith("kb/") else None
    return Preview(intent, chosen, ranked)
