"""Satisfaction surveys: the question put to a customer, and their answer."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String, Text

from bot.bank.base import Base


class CsatSurvey(Base):
    """One satisfaction question put to a customer, and their answer if any."""

    __tablename__ = "csat_surveys"
    __table_args__ = (CheckConstraint("score IS NULL OR score BETWEEN 1 AND 5", name="csat_score_range"),
                      Index("csat_by_conversation", "conversation_id", "asked_at"))

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False)
    channel = Column(String(32), nullable=False)
    customer_id = Column(Integer, ForeignKey("customers.id"))
    escalation_id = Column(Integer, ForeignKey("escalations.id"))
    asked_at = Column(DateTime(timezone=True), nullable=False)
    score = Column(Integer)
    comment = Column(Text)
    answered_at = Column(DateTime(timezone=True))
