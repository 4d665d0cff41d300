"""Tables of the bank database (SQLAlchemy ORM; schema changes via Alembic).

Branches and their hours, dated exceptions and notices; appointment slots
with a capacity and a booked count; bookings; customers and the channel ids
linked to them; one-time codes. Loans, deferral requests and escalations are
added by their own modules' migrations.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class Branch(Base):
    __tablename__ = "branches"

    id = Column(String(32), primary_key=True)
    name = Column(String(64), nullable=False, unique=True)
    aliases = Column(JSON, nullable=False, default=list)
    district = Column(String(32), nullable=False, index=True)
    address = Column(String(200), nullable=False)
    phone = Column(String(32), nullable=False)
    services = Column(JSON, nullable=False, default=list)
    lunch_start = Column(Time)
    lunch_end = Column(Time)

    hours = relationship("WeeklyHours", cascade="all, delete-orphan", order_by="WeeklyHours.weekday")


class WeeklyHours(Base):
    """Regular opening hours: one row per open weekday (0 = Monday)."""

    __tablename__ = "weekly_hours"
    __table_args__ = (
        UniqueConstraint("branch_id", "weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("opens < closes", name="opens_before_closes"),
    )

    id = Column(Integer, primary_key=True)
    branch_id = Column(String(32), ForeignKey("branches.id", ondelete="CASCADE"), nullable=False)
    weekday = Column(Integer, nullable=False)
    opens = Column(Time, nullable=False)
    closes = Column(Time, nullable=False)


class HoursException(Base):
    """A dated change: closed, shortened or extra opening (rotation, holiday).

    `branch_id` NULL applies to every branch. `opens`/`closes` NULL with
    `closed` true means closed all day.
    """

    __tablename__ = "hours_exceptions"
    __table_args__ = (UniqueConstraint("branch_id", "day"),)

    id = Column(Integer, primary_key=True)
    branch_id = Column(String(32), ForeignKey("branches.id", ondelete="CASCADE"))
    day = Column(Date, nullable=False, index=True)
    closed = Column(Boolean, nullable=False, default=False)
    opens = Column(Time)
    closes = Column(Time)
    reason = Column(String(200), nullable=False, default="")


class Notice(Base):
    """A notice shown with opening hours (e.g. the current epidemic rules)."""

    __tablename__ = "notices"

    id = Column(Integer, primary_key=True)
    branch_id = Column(String(32), ForeignKey("branches.id", ondelete="CASCADE"))
    body = Column(Text, nullable=False)
    starts_on = Column(Date, nullable=False)
    ends_on = Column(Date)


class Slot(Base):
    """Tickets (号源) for one branch × service × time window on one day.

    `booked` only changes through a conditional UPDATE, and the check
    constraint makes overbooking impossible at the database level.
    """

    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("branch_id", "service", "day", "starts_at"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="within_capacity"),
    )

    id = Column(Integer, primary_key=True)
    branch_id = Column(String(32), ForeignKey("branches.id", ondelete="CASCADE"), nullable=False)
    service = Column(String(32), nullable=False)
    day = Column(Date, nullable=False)
    starts_at = Column(Time, nullable=False)
    ends_at = Column(Time, nullable=False)
    capacity = Column(Integer, nullable=False)
    booked = Column(Integer, nullable=False, default=0)


class CapacityRule(Base):
    """Staff-set tickets per slot for a branch (and optionally one service)."""

    __tablename__ = "capacity_rules"
    __table_args__ = (UniqueConstraint("branch_id", "service"),)

    id = Column(Integer, primary_key=True)
    branch_id = Column(String(32), ForeignKey("branches.id", ondelete="CASCADE"), nullable=False)
    service = Column(String(32))
    capacity = Column(Integer, nullable=False)


class Customer(Base):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    phone = Column(String(20), nullable=False, unique=True)
    name = Column(String(64))


class ChannelLink(Base):
    """A channel user id (WeChat openid, widget session, REST sender) → customer."""

    __tablename__ = "channel_links"
    __table_args__ = (UniqueConstraint("channel", "channel_user"),)

    id = Column(Integer, primary_key=True)
    channel = Column(String(32), nullable=False)
    channel_user = Column(String(128), nullable=False)
    customer_id = Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    linked_at = Column(DateTime(timezone=True), nullable=False)


class OneTimeCode(Base):
    __tablename__ = "one_time_codes"

    id = Column(Integer, primary_key=True)
    phone = Column(String(20), nullable=False, index=True)
    code_hash = Column(String(128), nullable=False)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    used = Column(Boolean, nullable=False, default=False)


class Booking(Base):
    """One person's ticket in one slot.

    The partial unique index allows one active booking per customer, service
    and party: a borrower and a co-borrower are different parties, so they
    can be booked into different slots on purpose.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        Index(
            "one_active_booking_per_service",
            "customer_id", "service", "party",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    party = Column(String(32), nullable=False, default="本人")
    branch_id = Column(String(32), ForeignKey("branches.id"), nullable=False)
    service = Column(String(32), nullable=False)
    slot_id = Column(Integer, ForeignKey("slots.id"), nullable=False, index=True)
    status = Column(String(16), nullable=False, default="active")
    channel = Column(String(32), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    cancelled_at = Column(DateTime(timezone=True))
    checked_in_at = Column(DateTime(timezone=True))

    slot = relationship("Slot")
    branch = relationship("Branch")


# --- Loans and repayment deferral requests (bot.bank.deferral) ---------------

OPEN_DEFERRAL_STATES = ("submitted", "awaiting_confirmation")


class Loan(Base):
    """A retail loan: contract number, borrower and the next monthly payment.

    Borrowers are identified by phone (the verified channel identity), not by
    a customer row, because a borrower may never have contacted the bot. The
    amount is kept in fen (分) so SQLite, the default database, stores it
    exactly; `next_amount` gives it back as a Decimal in yuan.
    """

    __tablename__ = "loans"
    __table_args__ = (
        CheckConstraint("debit_day BETWEEN 1 AND 31", name="debit_day_range"),
        CheckConstraint("next_amount_fen >= 0", name="amount_not_negative"),
    )

    id = Column(Integer, primary_key=True)
    contract_no = Column(String(20), nullable=False, unique=True)
    product = Column(String(16), nullable=False)
    borrower_name = Column(String(64), nullable=False)
    borrower_phone = Column(String(20), nullable=False, index=True)
    debit_day = Column(Integer, nullable=False)
    next_due = Column(Date, nullable=False)
    next_amount_fen = Column(Integer, nullable=False)
    status = Column(String(16), nullable=False, default="active")

    co_borrowers = relationship("CoBorrower", cascade="all, delete-orphan", order_by="CoBorrower.id",
                                back_populates="loan")

    @property
    def next_amount(self) -> Decimal:
        return (Decimal(self.next_amount_fen) / 100).quantize(Decimal("0.01"))


class CoBorrower(Base):
    """A co-borrower (共同借款人) of a loan; they confirm by recorded call."""

    __tablename__ = "co_borrowers"
    __table_args__ = (UniqueConstraint("loan_id", "phone"),)

    id = Column(Integer, primary_key=True)
    loan_id = Column(Integer, ForeignKey("loans.id", ondelete="CASCADE"), nullable=False)
    name = Column(String(64), nullable=False)
    phone = Column(String(20), nullable=False, index=True)

    loan = relationship("Loan", back_populates="co_borrowers")


class DeferralRequest(Base):
    """A primary borrower's request to move the monthly debit day (扣款日).

    The partial unique index allows one open request per loan, so the same
    submission delivered twice (a retry, a double tap) makes one request.
    """

    __tablename__ = "deferral_requests"
    __table_args__ = (
        Index(
            "one_open_deferral_per_loan",
            "loan_id",
            unique=True,
            sqlite_where=text("status IN ('submitted', 'awaiting_confirmation')"),
            postgresql_where=text("status IN ('submitted', 'awaiting_confirmation')"),
        ),
        CheckConstraint("requested_day BETWEEN 1 AND 28", name="requested_day_range"),
    )

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)
    loan_id = Column(Integer, ForeignKey("loans.id"), nullable=False, index=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    requested_day = Column(Integer, nullable=False)
    current_due = Column(Date, nullable=False)
    new_due = Column(Date, nullable=False)
    reason = Column(String(200), nullable=False)
    hardship = Column(Boolean, nullable=False, default=False)
    channel = Column(String(32), nullable=False)
    channel_user = Column(String(128), nullable=False)
    status = Column(String(24), nullable=False, default="submitted")
    created_at = Column(DateTime(timezone=True), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False)
    decided_at = Column(DateTime(timezone=True))
    decided_by = Column(String(64))
    staff_note = Column(Text, nullable=False, default="")

    loan = relationship("Loan")
    confirmations = relationship("CoBorrowerConfirmation", cascade="all, delete-orphan",
                                 order_by="CoBorrowerConfirmation.id", back_populates="request")


class CoBorrowerConfirmation(Base):
    """One co-borrower's recorded-call confirmation of a deferral request.

    Name and phone are copied from the loan when the request is made, so the
    task still says whom to call if the loan's co-borrowers change later.
    """

    __tablename__ = "co_borrower_confirmations"
    __table_args__ = (UniqueConstraint("request_id", "phone"),)

    id = Column(Integer, primary_key=True)
    request_id = Column(Integer, ForeignKey("deferral_requests.id", ondelete="CASCADE"), nullable=False)
    name = Column(String(64), nullable=False)
    phone = Column(String(20), nullable=False)
    status = Column(String(16), nullable=False, default="pending")
    call_reference = Column(String(64))
    recorded_by = Column(String(64))
    recorded_at = Column(DateTime(timezone=True))

    request = relationship("DeferralRequest", back_populates="confirmations")


# --- Staff console accounts (bot.desk) ------------------------------------------

STAFF_ROLES = ("agent", "branch_staff", "admin")


class Staff(Base):
    """A person who signs in to the staff console (bot/desk).

    Only a bcrypt hash of the password is stored. `session_epoch` is part of
    every signed session cookie: raising it (password reset, account
    disabled) ends that person's sessions on every device at once.
    """

    __tablename__ = "staff"
    __table_args__ = (
        CheckConstraint("role IN ('agent', 'branch_staff', 'admin')", name="staff_role"),
        CheckConstraint("role != 'branch_staff' OR branch_id IS NOT NULL", name="branch_staff_has_branch"),
    )

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(64), nullable=False)
    role = Column(String(16), nullable=False)
    branch_id = Column(String(32), ForeignKey("branches.id"))
    password_hash = Column(String(128), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    session_epoch = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime(timezone=True), nullable=False)
    last_login_at = Column(DateTime(timezone=True))
    # Updated by the console while the person has it open: "is any agent online?"
    last_seen_at = Column(DateTime(timezone=True))


# --- Outbox: messages for customers, delivered later by channel adapters (bot.bank.notify) ---


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
    # Delivery bookkeeping (bot.bank.outbox): who is sending it, how often it failed.
    claimed_at = Column(DateTime(timezone=True))
    claimed_by = Column(String(64))
    recorded_at = Column(DateTime(timezone=True))
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(Text)
    failed_at = Column(DateTime(timezone=True))


# --- Escalations: conversations handed to a person (bot.bank.handoff) -------------

ESCALATION_PRIORITIES = ("urgent", "high", "normal")
ESCALATION_STATUSES = ("waiting", "with_agent", "resolved", "callback_requested")


class Escalation(Base):
    """A conversation handed from the bot to a person.

    `transcript` is a masked copy of the conversation up to the hand-off
    (phones, ID and card numbers keep only their last 4 digits); what follows
    is read live from the tracker store. `callback_phone` is the one place a
    full number is kept, because an agent has to dial it.
    """

    __tablename__ = "escalations"
    __table_args__ = (
        CheckConstraint("priority IN ('urgent', 'high', 'normal')", name="escalation_priority"),
        CheckConstraint("status IN ('waiting', 'with_agent', 'resolved', 'callback_requested')",
                        name="escalation_status"),
        Index("one_open_escalation_per_conversation", "conversation_id", unique=True,
              sqlite_where=text("status IN ('waiting', 'with_agent')"),
              postgresql_where=text("status IN ('waiting', 'with_agent')")),
        Index("escalation_queue", "status", "priority", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    channel = Column(String(32), nullable=False)
    customer_id = Column(Integer, ForeignKey("customers.id"))
    reason = Column(String(24), nullable=False)
    priority = Column(String(8), nullable=False)
    status = Column(String(24), nullable=False, default="waiting")
    assignee_id = Column(Integer, ForeignKey("staff.id"))
    summary = Column(Text, nullable=False, default="")
    transcript = Column(JSON, nullable=False, default=list)
    callback_phone = Column(String(20))
    callback_window = Column(String(64))
    callback_reached_at = Column(DateTime(timezone=True))
    close_note = Column(Text)
    created_at = Column(DateTime(timezone=True), nullable=False)
    claimed_at = Column(DateTime(timezone=True))
    first_reply_at = Column(DateTime(timezone=True))
    resolved_at = Column(DateTime(timezone=True))

    assignee = relationship("Staff")
    notes = relationship("EscalationNote", cascade="all, delete-orphan", order_by="EscalationNote.id",
                         back_populates="escalation")


class EscalationNote(Base):
    """An internal note on an escalation (never shown to the customer), or a transfer record."""

    __tablename__ = "escalation_notes"

    id = Column(Integer, primary_key=True)
    escalation_id = Column(Integer, ForeignKey("escalations.id", ondelete="CASCADE"), nullable=False, index=True)
    author = Column(String(64), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)

    escalation = relationship("Escalation", back_populates="notes")


# --- Satisfaction surveys (bot.bank.csat) ----------------------------------------------

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
