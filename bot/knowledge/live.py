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

The Rasa server keeps a corpus of its own (bot/knowledge/new_topics.py) that
needs a matcher only while topics the model was not trained with are
published: `LiveCorpus(needs_matcher=...)` builds one only then.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Sequence

from bot.bank.db import transaction
from bot.bank.knowledge import topics
from bot.bank.knowledge.topics import Article
from bot.knowledge.matcher import Matcher, trained_matcher
from bot.settings import settings


@dataclass(frozen=True)
class Corpus:
    """The published articles and a matcher trained on them (None when its owner needs none)."""

    version: str
    matcher: Optional[Matcher]
    articles: Dict[str, Article]


logger = logging.getLogger(__name__)


def _always(articles: Sequence[Article]) -> bool:
    return True


class LiveCorpus:
    """One process's view of the published corpus, refreshed in the background."""

    def __init__(self, needs_matcher: Callable[[Sequence[Article]], bool] = _always) -> None:
        self._needs_matcher = needs_matcher
        self._lock = threading.Lock()      # guards the three attributes below
        self._current: Optional[Corpus] = None
        self._checked_at = 0.0
        self._refresher: Optional[threading.Thread] = None

    def _load(self, previous: Optional[Corpus]) -> Corpus:
        """The published corpus: `previous` itself when nothing was published or withdrawn since."""
        with transaction() as session:
            version = topics.corpus_version(session)
            if previous is not None and previous.version == version:
                return previous
            articles = topics.published_articles(session)
        matcher = trained_matcher(articles) if self._needs_matcher(articles) else None
        return Corpus(version, matcher, {article.key: article for article in articles})

    def _refresh(self, previous: Optional[Corpus]) -> None:
        """Swap in the corpus as published now (run on the refresher thread)."""
        try:
            corpus = self._load(previous)
        except Exception:   # the database is away: keep answering from what was published before
            logger.warning("knowledge base not refreshed; the corpus published before stays", exc_info=True)
            return
        with self._lock:
            if self._current is not previous:
                return    # `current()` loaded the corpus meanwhile: this older load must not replace it
            self._current = corpus
        if corpus is not previous:
            logger.info("knowledge base refreshed: version %s, %d topics", corpus.version, len(corpus.articles))

    def _refresh_due(self) -> bool:
        refreshing = self._refresher is not None and self._refresher.is_alive()
        return not refreshing and time.monotonic() - self._checked_at >= float(settings().knowledge_refresh)

    def _start_refresh(self) -> None:
        """Load the corpus on a background thread (the caller holds the lock)."""
        self._checked_at = time.monotonic()
        self._refresher = threading.Thread(target=self._refresh, args=(self._current,),
                                           name="knowledge-refresh", daemon=True)
        self._refresher.start()

    def current(self) -> Corpus:
        """The corpus as published at most one refresh interval (plus a rebuild) ago.
        The first call waits for the first load (call it off the event loop)."""
        with self._lock:
            if self._current is None:
                self._current = self._load(None)
                self._checked_at = time.monotonic()
            elif self._refresh_due():
                self._start_refresh()
            return self._current

    def latest(self) -> Optional[Corpus]:
        """The corpus as last loaded, never waiting: for a caller on an event loop (the Rasa
        server's NLU). None until a first load has succeeded; loads and refreshes run in the
        background, and a database that cannot be read is tried again a refresh interval later."""
        if not self._lock.acquire(blocking=False):
            return self._current          # a first load is under way in `current()`
        try:
            if self._refresh_due():
                self._start_refresh()
            return self._current
        finally:
            self._lock.release()

    def warm_up(self) -> None:
        """Build the matcher in the background while the server starts, so the first
        customer's question does not wait for it (seconds: the encoder and the training)."""

        def build() -> None:
            try:
                self.current()
            except Exception:   # e.g. the database is not migrated yet: the first question builds it
                logger.warning("knowledge base not loaded at start-up; it will be on the first question",
                               exc_info=True)

        threading.Thread(target=build, name="knowledge-warm-up", daemon=True).start()


# The action server's and the console's corpus: always with a matcher.
published = LiveCorpus()
current = published.current
warm_up = published.warm_up
