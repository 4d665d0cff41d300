"""Messages in and out of the bank: the outbox of later messages, the
notifications the bank starts with their attempts, reminder opt-outs, and the
short-lived store that deduplicates WeChat's retried callbacks."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, String, Text

from bot.bank.base import Base, Vocabulary, vocabulary_column


class NotificationKind(Vocabulary):
    """Why the bank writes to a customer unprompted; each kind may have its own WeChat template."""

    DEFERRAL_DECISION = "deferral_decision"
    AGENT_REPLY = "agent_reply"
    CALLBACK_FAILED = "callback_failed"
    BOOKING_CONFIRMATION = "booking_confirmation"   # texted after a booking is made or moved
    BOOKING_REMINDER = "booking_reminder"     # the only kind an opt-out (退订) holds back
    BRANCH_CANCELLATION = "branch_cancellation"   # the branch closed or shortened the day: rebook


class NotificationStatus(Vocabulary):
    PENDING = "pending"            # on its way by `route`
    DELIVERED = "delivered"
    FAILED = "failed"              # every route tried; staff see it in the console
    OPTED_OUT = "opted_out"        # a reminder the customer unsubscribed from (never a decision)


class Route(Vocabulary):
    """How a notification travels, in the order they are tried."""

    CHANNEL = "channel"                    # the conversation's own channel (outbox)
    WECHAT_TEMPLATE = "wechat_template"    # WeChat after its 48-hour window (outbox, template message)
    SMS = "sms"                            # the customer's verified phone


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
    notification_id = Column(Integer, ForeignKey("notifications.id", ondelete="SET NULL"), index=True)


class Notification(Base):
    """A message the bank starts (a decision, an agent's late reply, a missed callback).

    It goes out on the conversation's channel first; when that channel can
    no longer reach the customer it falls back to a WeChat template message,
    then to an SMS to the phone the customer verified. `route` is the way
    being tried now; every try is a `NotificationAttempt`.
    """

    __tablename__ = "notifications"
    __table_args__ = (Index("notifications_due", "route", "status", "next_attempt_at"),)

    id = Column(Integer, primary_key=True)
    kind = vocabulary_column(NotificationKind, "notification_kind", 32, nullable=False)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="SET NULL"))
    channel = Column(String(32), nullable=False)
    channel_user = Column(String(128), nullable=False)
    text = Column(Text, nullable=False)               # the whole message, as SMS and the console show it
    fields = Column(JSON, nullable=False, default=dict)   # template values and facts for reports
    status = vocabulary_column(NotificationStatus, "notification_status", 16, nullable=False)
    route = vocabulary_column(Route, "notification_route", 16, nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime(timezone=True))
    claimed_at = Column(DateTime(timezone=True))
    last_error = Column(Text)
    created_at = Column(DateTime(timezone=True), nullable=False)
    delivered_at = Column(DateTime(timezone=True))


class NotificationAttempt(Base):
    """One try of one route, kept for staff and for the insights."""

    __tablename__ = "notification_attempts"

    id = Column(Integer, primary_key=True)
    notification_id = Column(Integer, ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    route = vocabulary_column(Route, "notification_attempt_route", 16, nullable=False)
    at = Column(DateTime(timezone=True), nullable=False)
    ok = Column(Boolean, nullable=False)
    error = Column(Text)


class ReminderOptOut(Base):
    """A customer who said 退订: no reminders, but still every decision on their own requests."""

    __tablename__ = "reminder_opt_outs"

    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True,
                         autoincrement=False)
    opted_out_at = Column(DateTime(timezone=True), nullable=False)


class WeChatDedup(Base):
    """One entry of the WeChat retry store (bot.channels.dedup).

    `expires_at` is Unix time, so expiry needs no time zone.
    """

    __tablename__ = "wechat_dedup"

    key = Column(String(200), primary_key=True)
    value = Column(JSON, nullable=False)
    expires_at = Column(Float, nullable=False, index=True)
