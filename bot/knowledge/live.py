"""The matcher over what is published now, rebuilt in the background when staff publish or withdraw.

The action server asks `current()` on every informational question. At most
every `HELPLINE_KNOWLEDGE_REFRESH` seconds (30 by default) a background
thread asks the bank database for the published corpus's version, a cheap
query; when that has changed it loads the articles and trains a new
matcher, then swaps it in. A published change answers customers within a
minute, with no training and no restart.

Customers never wait for that rebuild: until the new matcher is ready they
are answered from the one published before (a rebuild takes seconds when
the machine is quiet, minutes when it is not, and a question held that long
would get the channel's apology instead of an answer). Only the very first
question of a process, before any matcher exists, waits for one to be built.
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
_lock = threading.Lock()      # guards the three names below
_current: Optional[Corpus] = None
_checked_at = 0.0
_refresher: Optional[threading.Thread] = None


def _load(previous: Optional[Corpus]) -> Corpus:
    """The published corpus: `previous` itself when nothing was published or withdrawn since."""
    with transaction() as session:
        version = topics.corpus_version(session)
        if previous is not None and previous.version == version:
            return previous
        articles = topics.published_articles(session)
    return Corpus(version, Matcher(articles), {article.key: article for article in articles})


def _refresh(previous: Corpus) -> None:
    """Swap in the corpus as published now (run on the refresher thread)."""
    global _current
    try:
        corpus = _load(previous)
    except Exception:   # the database is away: keep answering from what was published before
        logger.warning("knowledge base not refreshed; the corpus published before stays", exc_info=True)
        return
    if corpus is not previous:
        logger.info("knowledge base refreshed: version %s, %d topics", corpus.version, len(corpus.articles))
    with _lock:
        _current = corpus


def _refresh_due() -> bool:
    refreshing = _refresher is not None and _refresher.is_alive()
    return not refreshing and time.monotonic() - _checked_at >= float(settings().knowledge_refresh)


def current() -> Corpus:
    """The corpus as published at most one refresh interval (plus a rebuild) ago."""
    global _current, _checked_at, _refresher
    with _lock:
        if _current is None:
            _current = _load(None)
            _checked_at = time.monotonic()
        elif _refresh_due():
            _checked_at = time.monotonic()
            _refresher = threading.Thread(target=_refresh, args=(_current,), name="knowledge-refresh", daemon=True)
            _refresher.start()
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
