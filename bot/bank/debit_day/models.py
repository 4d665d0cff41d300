"""Loans and requests to change a loan's monthly debit day (调整每月扣款日)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship

from bot.bank.base import Base, Vocabulary, status_in, vocabulary_column


class LoanStatus(Vocabulary):
    ACTIVE = "active"
    SETTLED = "settled"


class RequestStatus(Vocabulary):
    """A request waits for co-borrowers' calls, then for the bank, then is decided."""

    SUBMITTED = "submitted"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


OPEN_REQUEST_STATUSES = (RequestStatus.SUBMITTED, RequestStatus.AWAITING_CONFIRMATION)


class ConfirmationStatus(Vocabulary):
    """A co-borrower's answer on the recorded call."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REFUSED = "refused"


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
    status = vocabulary_column(LoanStatus, "loan_status", 16, nullable=False, default=LoanStatus.ACTIVE)

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
            sqlite_where=status_in("status", OPEN_REQUEST_STATUSES),
            postgresql_where=status_in("status", OPEN_REQUEST_STATUSES),
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
    status = vocabulary_column(RequestStatus, "deferral_status", 24, nullable=False,
                               default=RequestStatus.SUBMITTED)
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
    status = vocabulary_column(ConfirmationStatus, "confirmation_status", 16, nullable=False,
                               default=ConfirmationStatus.PENDING)
    call_reference = Column(String(64))
    recorded_by = Column(String(64))
    recorded_at = Column(DateTime(timezone=True))

    request = relationship("DeferralRequest", back_populates="confirmations")
