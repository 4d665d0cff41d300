"""The knowledge base staff edit: topics and every revision of their wording."""
from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship

from bot.bank.base import Base, Vocabulary, status_in, vocabulary_column


class RevisionState(Vocabulary):
    """A revision is written as a draft, published (the bot answers with it), then
    superseded by a later one; withdrawing a topic takes its published revision down."""

    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


class KnowledgeTopic(Base):
    """One question customers ask, identified by a stable key (`early_repayment`)."""

    __tablename__ = "kb_topics"

    id = Column(Integer, primary_key=True)
    key = Column(String(48), nullable=False, unique=True)
    created_at = Column(DateTime(timezone=True), nullable=False)
    created_by = Column(String(64), nullable=False)

    revisions = relationship("KnowledgeRevision", cascade="all, delete-orphan", order_by="KnowledgeRevision.number",
                             back_populates="topic")


class KnowledgeRevision(Base):
    """What a topic says at one point: its title, the answer, the example questions.

    A topic has at most one draft and at most one published revision (partial
    unique indexes), so "what the bot says" and "what is being edited" are
    each one row; every earlier revision stays as the topic's history.
    """

    __tablename__ = "kb_revisions"
    __table_args__ = (
        UniqueConstraint("topic_id", "number"),
        Index("one_draft_per_topic", "topic_id", unique=True,
              sqlite_where=status_in("state", [RevisionState.DRAFT]),
              postgresql_where=status_in("state", [RevisionState.DRAFT])),
        Index("one_published_per_topic", "topic_id", unique=True,
              sqlite_where=status_in("state", [RevisionState.PUBLISHED]),
              postgresql_where=status_in("state", [RevisionState.PUBLISHED])),
    )

    id = Column(Integer, primary_key=True)
    topic_id = Column(Integer, ForeignKey("kb_topics.id", ondelete="CASCADE"), nullable=False, index=True)
    number = Column(Integer, nullable=False)
    title = Column(String(80), nullable=False)
    answer = Column(Text, nullable=False)
    examples = Column(JSON, nullable=False, default=list)
    state = vocabulary_column(RevisionState, "kb_revision_state", 16, nullable=False, default=RevisionState.DRAFT)
    author = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    published_at = Column(DateTime(timezone=True))
    published_by = Column(String(64))
    note = Column(String(200), nullable=False, default="")

    topic = relationship("KnowledgeTopic", back_populates="revisions")


class SuggestionUse(Base):
    """An agent inserted a topic's answer that the console suggested for a customer's
    message: which answers agents find useful, and for which questions (masked),
    so editors can add those questions to the topic's examples."""

    __tablename__ = "kb_suggestion_uses"

    id = Column(Integer, primary_key=True)
    topic_key = Column(String(48), nullable=False, index=True)
    escalation_id = Column(Integer, ForeignKey("escalations.id", ondelete="CASCADE"), nullable=False, index=True)
    staff_id = Column(Integer, ForeignKey("staff.id"), nullable=False)
    question = Column(Text, nullable=False)
    used_at = Column(DateTime(timezone=True), nullable=False)
