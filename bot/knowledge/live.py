"""The matcher over what is published now, rebuilt when staff publish or withdraw.

The action server asks `current()` on every informational question. At most
every `HELPLINE_KNOWLEDGE_REFRESH` seconds (30 by default) it asks the bank
database for the published corpus's version, a cheap query; when that has
changed it loads the articles and trains a new matcher, so a published change
answers customers within a minute, with no training and no restart.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Dict, Optional

from bot.bank.db import transaction
from bot.bank.knowledge import topics
from bot.bank.knowledge.topics import Article
from bot.knowledge.matcher import Matcher
from bot.settings import settings


@dataclass(frozen=True)
class Corpus:
    """A trained matcher and the articles it was trained on."""

    version: str
    matcher: Matcher
    articles: Dict[str, Article]


logger = logging.getLogger(__name__)
_lock = threading.Lock()
_current: Optional[Corpus] = None
_checked_at = 0.0


def _load() -> Corpus:
    with transaction() as session:
        version = topics.corpus_version(session)
        if _current is not None and _current.version == version:
            return _current
        articles = topics.published_articles(session)
    return Corpus(version, Matcher(articles), {article.key: article for article in articles})


def current() -> Corpus:
    """The corpus as published at most one refresh interval ago."""
    global _current, _checked_at
    with _lock:
        if _current is None or time.monotonic() - _checked_at >= float(settings().knowledge_refresh):
            _current = _load()
            _checked_at = time.monotonic()
        return _current


def warm_up() -> None:
    """Build the matcher in the background while the server starts, so the first
    customer's question does not wait for it (seconds: the encoder and the training)."""

    def build() -> None:
        try:
            current()
        except Exception:   # e.g. the database is not migrated yet: the first question builds it
            logger.warning("knowledge base not loaded at start-up; it will be on the first question", exc_info=True)

    threading.Thread(target=build, name="knowledge-warm-up", daemon=True).start()
