"""Tags on cases: short labels (提前还款, 盗刷) for finding and counting cases by topic.

Agents tag a case while or after handling it. When the customer had asked
the bot about a knowledge-base topic before the hand-off (the
`knowledge_topic` slot, kept on the case as `Escalation.topic`), that
topic's title is offered as a tag with one click, so tags from the same
question read the same. The insights count cases by tag.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.bank.handoff.escalations import get_escalation
from bot.bank.handoff.models import EscalationTag
from bot.bank.knowledge.models import KnowledgeRevision, KnowledgeTopic
from bot.bank.refusals import Refusal
from bot.bank.staff.models import Staff

MAX_TAG = 24


@dataclass(frozen=True)
class CaseTags:
    tags: List[str]
    suggested: Optional[str]     # the knowledge-base topic's title, when not yet a tag


def clean_tag(tag: str) -> str:
    tag = " ".join((tag or "").split())
    if not tag or len(tag) > MAX_TAG:
        raise Refusal("invalid", f"标签请写 1 到 {MAX_TAG} 个字，例如“提前还款”。")
    return tag


def topic_title(session: Session, key: Optional[str]) -> Optional[str]:
    """The latest title of a knowledge-base topic, cut to a tag's length."""
    if not key:
        return None
    title = session.execute(select(KnowledgeRevision.title).join(KnowledgeTopic)
                            .where(KnowledgeTopic.key == key)
                            .order_by(KnowledgeRevision.number.desc())).scalars().first()
    return title[:MAX_TAG] if title else None


def case_tags(session: Session, escalation_id: int) -> CaseTags:
    escalation = get_escalation(session, escalation_id)
    tags = [row.tag for row in escalation.tags]
    suggested = topic_title(session, escalation.topic)
    return CaseTags(tags, suggested if suggested not in tags else None)


def add_tag(session: Session, escalation_id: int, staff_id: int, tag: str, *, at: datetime) -> CaseTags:
    """Label the case (a tag it has already is left as it is)."""
    escalation, tag = get_escalation(session, escalation_id), clean_tag(tag)
    if tag not in {row.tag for row in escalation.tags}:
        escalation.tags.append(EscalationTag(tag=tag, added_by=session.get(Staff, staff_id).display_name,
                                             added_at=at))
        session.flush()
    return case_tags(session, escalation_id)


def remove_tag(session: Session, escalation_id: int, tag: str) -> CaseTags:
    escalation = get_escalation(session, escalation_id)
    for row in list(escalation.tags):
        if row.tag == tag:
            escalation.tags.remove(row)
    session.flush()
    return case_tags(session, escalation_id)
