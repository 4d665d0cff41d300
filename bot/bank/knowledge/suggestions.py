"""Which suggested answers agents used, to improve the knowledge base.

The console suggests published topics' answers for a customer's message on
a case (bot/knowledge/suggest.py); when the agent inserts one, it is
recorded here with the message it was suggested for, masked. Editors read
the counts per topic, and the questions, to see which answers earn their
keep and which customer wordings a topic should learn as examples.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.bank.handoff.models import Escalation, EscalationStatus
from bot.bank.knowledge.models import KnowledgeTopic, SuggestionUse
from bot.bank.masking import mask_text
from bot.bank.refusals import Refusal

MAX_QUESTION = 500


@dataclass(frozen=True)
class Usage:
    topic_key: str
    uses: int
    last_question: str


def record_use(session: Session, escalation_id: int, staff_id: int, topic_key: str, question: str, *,
               at: datetime) -> None:
    """The agent handling the case inserted this topic's suggested answer."""
    escalation = session.get(Escalation, escalation_id)
    if escalation is None or escalation.status != EscalationStatus.WITH_AGENT or escalation.assignee_id != staff_id:
        raise Refusal("not_yours", "这位客户目前不由你接待，不能记录建议答复的使用。")
    if session.execute(select(KnowledgeTopic.id).where(KnowledgeTopic.key == topic_key)).first() is None:
        raise Refusal("not_found", "没有找到这条知识库条目。")
    session.add(SuggestionUse(topic_key=topic_key, escalation_id=escalation_id, staff_id=staff_id,
                              question=mask_text((question or "").strip())[:MAX_QUESTION], used_at=at))


def usage(session: Session) -> List[Usage]:
    """Topics by how often agents used their suggested answer, most used first."""
    counts = session.execute(select(SuggestionUse.topic_key, func.count(SuggestionUse.id), func.max(SuggestionUse.id))
                             .group_by(SuggestionUse.topic_key)).all()
    found = []
    for key, uses, last_id in counts:
        found.append(Usage(key, uses, session.get(SuggestionUse, last_id).question))
    return sorted(found, key=lambda item: (-item.uses, item.topic_key))
