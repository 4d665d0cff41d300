"""Messages in and out of the bank: the outbox of later messages, and the
short-lived store that deduplicates WeChat's retried callbacks."""
from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Float, Index, Integer, String, Text

from bot.bank.base import Base


class Outbox(Base):
    """A message to send a customer on the channel they used (e.g. a deferral decision).

    Rows are written in the same transaction as the event they announce;
    a channel adapter delivers them later and sets `delivered_at`.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("outbox_undelivered", "channel", "delivered_at"),)

    id = Column(Integer, primary_key=True)
    channel = Column(String(32), nullable=False)
    channel_user = Column(String(128), nullable=False)
    kind = Column(String(32), nullable=False)
    payload = Column(JSON, nullable=False, default=dict)
    created_at = Column(DateTime(timezone=True), nullable=False)
    delivered_at = Column(DateTime(timezone=True))
    # Delivery bookkeeping (bot.bank.messaging.outbox): who is sending it, how often it failed.
    claimed_at = Column(DateTime(timezone=True))
    claimed_by = Column(String(64))
    recorded_at = Column(DateTime(timezone=True))
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(Text)
    failed_at = Column(DateTime(timezone=True))


class WeChatDedup(Base):
    """One entry of the WeChat retry store (bot.channels.dedup).

    `expires_at` is Unix time, so expiry needs no time zone.
    """

    __tablename__ = "wechat_dedup"

    key = Column(String(200), primary_key=True)
    value = Column(JSON, nullable=False)
    expires_at = Column(Float, nullable=False, index=True)
