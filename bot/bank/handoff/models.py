"""Conversations handed from the bot to a person: escalations, their notes, and the
canned replies agents answer them with."""
from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import deferred, relationship

from bot.bank.base import Base, Vocabulary, status_in, vocabulary_column
from bot.bank.staff.models import MAX_TEAM


class Priority(Vocabulary):
    """Most urgent first: the queue and the first-reply targets follow this order."""

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


class EscalationStatus(Vocabulary):
    WAITING = "waiting"
    WITH_AGENT = "with_agent"
    RESOLVED = "resolved"
    CALLBACK_REQUESTED = "callback_requested"


OPEN_ESCALATION_STATUSES = (EscalationStatus.WAITING, EscalationStatus.WITH_AGENT)


class Escalation(Base):
    """A conversation handed from the bot to a person.

    `transcript` is a masked copy of the conversation up to the hand-off
    (phones, ID and card numbers keep only their last 4 digits); what follows
    is read live from the tracker store. `callback_phone` is the one place a
    full number is kept, because an agent has to dial it. `search_text` holds
    what staff can search for, masked: that transcript, the agent's replies,
    the notes and the closing note.
    """

    __tablename__ = "escalations"
    __table_args__ = (
        Index("one_open_escalation_per_conversation", "conversation_id", unique=True,
              sqlite_where=status_in("status", OPEN_ESCALATION_STATUSES),
              postgresql_where=status_in("status", OPEN_ESCALATION_STATUSES)),
        Index("escalation_queue", "status", "priority", "created_at"),
        # Words anywhere in it (case search): trigrams on PostgreSQL, which work for Chinese.
        Index("escalation_search_text", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}),
    )

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    channel = Column(String(32), nullable=False)
    customer_id = Column(Integer, ForeignKey("customers.id"))
    reason = Column(String(24), nullable=False)
    priority = vocabulary_column(Priority, "escalation_priority", 8, nullable=False)
    status = vocabulary_column(EscalationStatus, "escalation_status", 24, nullable=False,
                               default=EscalationStatus.WAITING)
    assignee_id = Column(Integer, ForeignKey("staff.id"))
    summary = Column(Text, nullable=False, default="")
    transcript = Column(JSON, nullable=False, default=list)
    search_text = Column(Text, nullable=False, default="")
    # The knowledge-base topic the customer last asked about (the bot's
    # `knowledge_topic` slot at hand-off): the tag the console suggests.
    topic = Column(String(48))
    callback_phone = Column(String(20))
    callback_window = Column(String(64))
    callback_reached_at = Column(DateTime(timezone=True))
    close_note = Column(Text)
    created_at = Column(DateTime(timezone=True), nullable=False)
    claimed_at = Column(DateTime(timezone=True))
    first_reply_at = Column(DateTime(timezone=True))
    resolved_at = Column(DateTime(timezone=True))
    # What happens live (bot/bank/handoff/live.py): the customer's last message
    # and typing while the case is open, the agent's typing and when it was
    # last shown to the customer, and when the duty supervisor was alerted.
    customer_wrote_at = Column(DateTime(timezone=True))
    customer_typing_at = Column(DateTime(timezone=True))
    agent_typing_at = Column(DateTime(timezone=True))
    typing_shown_at = Column(DateTime(timezone=True))
    supervisor_alerted_at = Column(DateTime(timezone=True))

    assignee = relationship("Staff")
    notes = relationship("EscalationNote", cascade="all, delete-orphan", order_by="EscalationNote.id",
                         back_populates="escalation")
    tags = relationship("EscalationTag", cascade="all, delete-orphan", order_by="EscalationTag.tag")


class EscalationNote(Base):
    """An internal note on an escalation (never shown to the customer), or a transfer record."""

    __tablename__ = "escalation_notes"

    id = Column(Integer, primary_key=True)
    escalation_id = Column(Integer, ForeignKey("escalations.id", ondelete="CASCADE"), nullable=False, index=True)
    author = Column(String(64), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)

    escalation = relationship("Escalation", back_populates="notes")


class CannedReply(Base):
    """A reply agents insert with `/shortcut` and edit before sending.

    `team` is the agents' team it is meant for, or "" for every agent; a
    team's reply with the same shortcut as a global one replaces it for that
    team. The body may hold placeholders (bot.bank.handoff.canned).
    """

    __tablename__ = "canned_replies"
    __table_args__ = (UniqueConstraint("team", "shortcut", name="one_shortcut_per_team"),)

    id = Column(Integer, primary_key=True)
    shortcut = Column(String(24), nullable=False)
    title = Column(String(40), nullable=False)
    body = Column(Text, nullable=False)
    team = Column(String(MAX_TEAM), nullable=False, default="")
    updated_by = Column(String(64), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False)


class EscalationTag(Base):
    """A label staff put on a case (e.g. 提前还款), for finding and counting cases by topic."""

    __tablename__ = "escalation_tags"
    __table_args__ = (UniqueConstraint("escalation_id", "tag", name="one_tag_per_case"),)

    id = Column(Integer, primary_key=True)
    escalation_id = Column(Integer, ForeignKey("escalations.id", ondelete="CASCADE"), nullable=False, index=True)
    tag = Column(String(24), nullable=False, index=True)
    added_by = Column(String(64), nullable=False)
    added_at = Column(DateTime(timezone=True), nullable=False)


class Attachment(Base):
    """A photo or PDF sent during a hand-off, by the customer or by the agent.

    The bytes live in the database, not on a disk: every Rasa server and the
    console see the same files without a shared volume, nothing is under a
    web root, and a backup holds the case whole. `content` is emptied when
    the file expires (bot/bank/handoff/attachments.py); the row stays as the
    record that something was sent. `token` is the customer's unguessable
    link to it; staff open it by id, with the console's access rules.
    `file_name` is masked like the transcript.
    """

    __tablename__ = "attachments"

    id = Column(Integer, primary_key=True)
    token = Column(String(32), nullable=False, unique=True)
    escalation_id = Column(Integer, ForeignKey("escalations.id", ondelete="CASCADE"), nullable=False, index=True)
    sender = Column(String(8), nullable=False)           # "customer" or "agent"
    staff_id = Column(Integer, ForeignKey("staff.id"))  # the agent who sent it
    file_name = Column(String(120), nullable=False)
    content_type = Column(String(40), nullable=False)
    size = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)   # evidence a photo of a scam was not altered later
    content = deferred(Column(LargeBinary))
    created_at = Column(DateTime(timezone=True), nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False, index=True)
