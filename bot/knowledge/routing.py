"""Who answers a message: an action intent of Rasa's NLU, or the knowledge base.

Intents that drive actions (booking, the debit-day change, hand-off, fraud,
lost card, distress, ...) stay with Rasa. A message the NLU classifies as an
informational question (`ask_question`) is given to the knowledge-base
matcher; so is one the NLU could not place (`nlu_fallback`, `out_of_scope`),
because staff may have published a topic the model was never trained on.
The matcher must be surer in the second case. Both thresholds are
calibrated on the blind dev set (bench/heldout/dev.yml): the highest
accuracy with at most 5 % of out-of-scope questions given an answer
(docs/benchmarks.md, "Calibration").
"""
from __future__ import annotations

from typing import Optional

from bot.knowledge.matcher import Matcher

QUESTION_INTENT = "ask_question"
MISSED_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
NOT_ANSWERED_LABEL = "out_of_scope"

WHEN_ASKED = 0.25      # the NLU says: an informational question
AFTER_A_MISS = 0.75    # the NLU could not place the message


def accept_threshold(intent: Optional[str], when_asked: float = WHEN_ASKED,
                     after_a_miss: float = AFTER_A_MISS) -> Optional[float]:
    """How sure the matcher must be to answer a message of this intent; None: not its call."""
    if intent == QUESTION_INTENT:
        return when_asked
    if intent in MISSED_INTENTS:
        return after_a_miss
    return None


def label(intent: Optional[str], text: str, matcher: Matcher, when_asked: float = WHEN_ASKED,
          after_a_miss: float = AFTER_A_MISS) -> str:
    """What the bot does with a message, as the benchmark scores it: an action intent,
    `kb/<topic>`, or `out_of_scope` for an honest "I don't know"."""
    threshold = accept_threshold(intent, when_asked, after_a_miss)
    if threshold is None:
        return intent or NOT_ANSWERED_LABEL
    match = matcher.best(text, threshold)
    return f"kb/{match.key}" if match else NOT_ANSWERED_LABEL
