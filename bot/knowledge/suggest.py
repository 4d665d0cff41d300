"""Answers to suggest to an agent for a customer's message: the bot's own matcher and routing.

The agent gets what the bot would have answered, and the runners-up. The
first suggestion must pass the same test as the bot's answer (it beats the
"no topic answers this" class and the threshold for the message's intent);
when the NLU did not call the message an informational question, or could
not be asked, the stricter threshold for a missed message applies, so "还在吗"
brings no suggestion at all. Runners-up are shown only when they are
plausible (ALSO_SHOWN), so one clear answer stays alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from bot.bank.knowledge.topics import fill
from bot.knowledge.live import Corpus
from bot.knowledge.routing import AFTER_A_MISS, accept_threshold

ALSO_SHOWN = 0.1
LIMIT = 3


@dataclass(frozen=True)
class Suggestion:
    key: str
    title: str
    answer: str      # as the customer would read it
    score: float


def suggestions(corpus: Corpus, text: str, intent: Optional[str], limit: int = LIMIT) -> List[Suggestion]:
    """The best answers for `text`, best first; none when no topic answers it."""
    threshold = accept_threshold(intent) if intent else None
    if corpus.matcher.best(text, AFTER_A_MISS if threshold is None else threshold) is None:
        return []
    ranked = corpus.matcher.rank(text, limit)
    return [Suggestion(match.key, corpus.articles[match.key].title, fill(corpus.articles[match.key].answer),
                       round(match.score, 2))
            for index, match in enumerate(ranked) if index == 0 or match.score >= ALSO_SHOWN]
