"""A customer's request to change a loan's monthly debit day (调整每月扣款日).

A verified customer names a loan by its full contract number or its last 4
digits; only loans where their phone is the primary borrower or a
co-borrower are ever matched, so a wrong tail says "not found" and never
reveals someone else's loan. Only the primary borrower may apply. The new
debit day follows `bot.bank.debit_day.rules` (1st-28th, later by at most a month).

A loan has at most one open request (submitted or awaiting_confirmation):
a partial unique index enforces it, so the same submission delivered twice
returns the first request. A loan with co-borrowers waits for each of them
to confirm on a recorded call (one task per co-borrower); once all have
confirmed the request is back to "submitted", ready for staff to decide.
Decisions move status with a conditional UPDATE, so two staff members (or a
customer cancelling while staff approve) can never both win.

Customer-facing answers that are an expected "no" (not found, co-borrower,
a refused day) come back as result objects; cancelling raises a `Refusal`.
The bank's side (the queue, the recorded calls, the decision) is in
`bot.bank.debit_day.review`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import List, Optional, Tuple

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.bank import references
from bot.bank.customers.models import Customer
from bot.bank.debit_day.models import (
    OPEN_REQUEST_STATUSES,
    CoBorrower,
    CoBorrowerConfirmation,
    ConfirmationStatus,
    DeferralRequest,
    Loan,
    LoanStatus,
    RequestStatus,
)
from bot.bank.debit_day.rules import change_debit_day
from bot.bank.masking import mask_name, mask_phone
from bot.bank.refusals import Refusal
from bot.clock import local
from bot.identifiers import CONTRACT_NO


PRIMARY, CO_BORROWER = "primary", "co_borrower"


# Offered as buttons and stored as they are (staff count and filter by them); in words any cause fits.
OTHER_REASON = "其他原因"
REASONS = ("收入减少", "人在外地", "身体原因", OTHER_REASON)
# What a customer types for each offered reason, so 生病了 counts as 身体原因.
REASON_WORDS = {
    "收入减少": ("收入减少", "收入少", "工资", "降薪", "减薪"),
    "人在外地": ("外地", "回不来", "出差", "异地"),
    "身体原因": ("身体", "生病", "病了", "住院", "看病"),
    OTHER_REASON: ("其他", "其它", "别的"),
}


WAIT_CO_BORROWERS, WAIT_REFUSED, WAIT_BANK = "co_borrower_confirmation", "co_borrower_refused", "bank_review"


_CONTRACT = re.compile(rf"^{CONTRACT_NO}$")


_TAIL = re.compile(r"^[0-9]{4}$")


_REFERENCE_TRIES = 3


@dataclass(frozen=True)
class LoanView:
    """A loan as its borrower or co-borrower may see it (other people masked)."""

    contract_no: str
    product: str
    role: str  # PRIMARY or CO_BORROWER: the customer's role on this loan
    borrower: str  # masked name of the primary borrower
    co_borrowers: Tuple[str, ...]  # masked names
    debit_day: int
    next_due: date
    next_amount: Decimal
    status: str

    @property
    def tail(self) -> str:
        return self.contract_no[-4:]


@dataclass(frozen=True)
class LoanLookup:
    """Which of the customer's loans a reference names, or why none."""

    found: bool
    reason: str = ""  # "not_found", "ambiguous" (a tail shared by several of their loans)
    loan: Optional[LoanView] = None
    candidates: Tuple[LoanView, ...] = ()  # the customer's own loans sharing the tail

    @property
    def role(self) -> str:
        return self.loan.role if self.loan else ""


@dataclass(frozen=True)
class Preview:
    """What a new debit day would do, before anything is written."""

    ok: bool
    reason: str = ""  # lookup reasons, "co_borrower", "loan_closed", or debit_day's refusals
    loan: Optional[LoanView] = None
    new_day: int = 0
    current_due: Optional[date] = None
    new_due: Optional[date] = None
    days_gained: int = 0


@dataclass(frozen=True)
class ConfirmationView:
    """A co-borrower's confirmation as the applicant sees it (masked)."""

    name: str
    phone: str
    status: str


@dataclass(frozen=True)
class RequestView:
    """A deferral request as the customer sees it, with what is still missing."""

    reference: str
    contract_no: str
    product: str
    requested_day: int
    current_due: date
    new_due: date
    reason: str
    hardship: bool
    status: str
    channel: str
    created_at: datetime
    decided_at: Optional[datetime]
    confirmations: Tuple[ConfirmationView, ...]
    waiting_for: str  # WAIT_* code while open, "" once decided or cancelled

    @property
    def missing(self) -> Tuple[ConfirmationView, ...]:
        """Co-borrowers who have not confirmed yet."""
        return tuple(c for c in self.confirmations if c.status == ConfirmationStatus.PENDING)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REQUEST_STATUSES


@dataclass(frozen=True)
class Submission:
    """The outcome of applying: a request (new or the open one) or why not."""

    ok: bool
    reason: str = ""
    request: Optional[RequestView] = None
    created: bool = False  # False when the loan's open request was returned
    loan: Optional[LoanView] = None


def _role(loan: Loan, customer: Customer) -> str:
    return PRIMARY if loan.borrower_phone == customer.phone else CO_BORROWER


def loan_view(loan: Loan, customer: Customer) -> LoanView:
    return LoanView(loan.contract_no, loan.product, _role(loan, customer), mask_name(loan.borrower_name),
                    tuple(mask_name(c.name) for c in loan.co_borrowers), loan.debit_day, loan.next_due,
                    loan.next_amount, loan.status)


def _loans_of(session: Session, customer: Customer) -> List[Loan]:
    """Loans where the customer's phone is the primary borrower or a co-borrower."""
    co_borrowed = select(CoBorrower.loan_id).where(CoBorrower.phone == customer.phone)
    return list(session.execute(
        select(Loan).where(or_(Loan.borrower_phone == customer.phone, Loan.id.in_(co_borrowed)))
        .order_by(Loan.contract_no)
    ).scalars())


def loans_of(session: Session, customer: Customer) -> List[LoanView]:
    """The customer's loans with their role, so the bot can offer a choice."""
    return [loan_view(loan, customer) for loan in _loans_of(session, customer)]


def _matching(session: Session, customer: Customer, loan_ref: str) -> List[Loan]:
    """Only ever the customer's own loans: a wrong reference matches nothing."""
    ref = references.canonical(loan_ref)
    if _CONTRACT.match(ref):
        return [loan for loan in _loans_of(session, customer) if loan.contract_no == ref]
    if _TAIL.match(ref):
        return [loan for loan in _loans_of(session, customer) if loan.contract_no.endswith(ref)]
    return []


def find_loan(session: Session, customer: Customer, loan_ref: str) -> LoanLookup:
    """The customer's loan named by full contract number or its last 4 digits."""
    loans = _matching(session, customer, loan_ref)
    if not loans:
        return LoanLookup(False, "not_found")
    if len(loans) > 1:
        return LoanLookup(False, "ambiguous", candidates=tuple(loan_view(x, customer) for x in loans))
    return LoanLookup(True, loan=loan_view(loans[0], customer))


def _loan_for_applicant(session: Session, customer: Customer, loan_ref: str) -> Tuple[Optional[Loan], str]:
    """The loan if this customer may apply for it, else the reason they may not."""
    loans = _matching(session, customer, loan_ref)
    if len(loans) != 1:
        return None, "ambiguous" if loans else "not_found"
    loan = loans[0]
    if _role(loan, customer) != PRIMARY:
        return loan, "co_borrower"
    if loan.status != LoanStatus.ACTIVE:
        return loan, "loan_closed"
    return loan, ""


def preview_change(session: Session, customer: Customer, loan_ref: str, new_day: int,
                   target: Optional[date] = None) -> Preview:
    """The new due date for a day, so the bot can confirm it before submitting."""
    loan, refusal = _loan_for_applicant(session, customer, loan_ref)
    view = loan_view(loan, customer) if loan else None
    if refusal:
        return Preview(False, refusal, view, new_day)
    change = change_debit_day(loan.next_due, new_day, target)
    return Preview(change.ok, change.reason, view, new_day, loan.next_due, change.new_due, change.days_gained)


def new_reference() -> str:
    return references.new_reference(references.ReferenceKind.DEBIT_DAY_REQUEST)


def reason_said(said: str, reason: str) -> bool:
    """Whether the customer's words name this offered reason."""
    return any(word in said for word in REASON_WORDS[reason])


def normalise_reason(reason: Optional[str]) -> str:
    """The customer's own words (trimmed), or OTHER_REASON when they gave none."""
    text = " ".join((reason or "").split())
    return text[:200] or OTHER_REASON


def waiting_for(request: DeferralRequest) -> str:
    if request.status not in OPEN_REQUEST_STATUSES:
        return ""
    statuses = {c.status for c in request.confirmations}
    if ConfirmationStatus.PENDING in statuses:
        return WAIT_CO_BORROWERS
    if ConfirmationStatus.REFUSED in statuses:
        return WAIT_REFUSED
    return WAIT_BANK


def request_view(request: DeferralRequest) -> RequestView:
    confirmations = tuple(ConfirmationView(mask_name(c.name), mask_phone(c.phone), c.status)
                          for c in request.confirmations)
    return RequestView(request.reference, request.loan.contract_no, request.loan.product,
                       request.requested_day, request.current_due, request.new_due, request.reason,
                       request.hardship, request.status, request.channel, local(request.created_at),
                       local(request.decided_at), confirmations, waiting_for(request))


def _open_request(session: Session, loan_id: int) -> Optional[DeferralRequest]:
    return session.execute(
        select(DeferralRequest).where(DeferralRequest.loan_id == loan_id,
                                      DeferralRequest.status.in_(OPEN_REQUEST_STATUSES))
    ).scalar_one_or_none()


def _new_request(loan: Loan, customer: Customer, new_day: int, new_due: date, reason: str,
                 hardship: bool, channel: str, channel_user: str, when: datetime) -> DeferralRequest:
    """A request with one pending confirmation task per co-borrower of the loan."""
    tasks = [CoBorrowerConfirmation(name=c.name, phone=c.phone, status=ConfirmationStatus.PENDING)
             for c in loan.co_borrowers]
    return DeferralRequest(
        reference=new_reference(), loan_id=loan.id, customer_id=customer.id, requested_day=new_day,
        current_due=loan.next_due, new_due=new_due, reason=normalise_reason(reason), hardship=bool(hardship),
        channel=channel, channel_user=channel_user,
        status=RequestStatus.AWAITING_CONFIRMATION if tasks else RequestStatus.SUBMITTED,
        created_at=local(when), updated_at=local(when), staff_note="", confirmations=tasks,
    )


def _insert_once(session: Session, loan: Loan, build) -> Tuple[DeferralRequest, bool]:
    """Insert a request unless the loan already has an open one; (request, created).

    The partial unique index decides a race: the loser's savepoint rolls back
    and it returns the winner. A (very unlikely) reference collision retries.
    """
    for _ in range(_REFERENCE_TRIES):
        existing = _open_request(session, loan.id)
        if existing is not None:
            return existing, False
        request = build()
        try:
            with session.begin_nested():
                session.add(request)
        except IntegrityError:
            continue
        return request, True
    raise RuntimeError("could not store the deferral request")


def submit_request(session: Session, customer: Customer, loan_ref: str, new_day: int, reason: str,
                   hardship: bool, channel: str, channel_user: str, when: datetime,
                   target: Optional[date] = None) -> Submission:
    """Open a deferral request for the customer's loan; idempotent per loan.

    Refusals (`ok` False) carry a reason: "not_found", "ambiguous",
    "co_borrower", "loan_closed", or debit_day's "out_of_range", "same_day",
    "too_far", "earlier". An open request for the loan is returned as is
    (`created` False), whatever day this attempt asked for.
    """
    loan, refusal = _loan_for_applicant(session, customer, loan_ref)
    view = loan_view(loan, customer) if loan else None
    if refusal:
        return Submission(False, refusal, loan=view)
    existing = _open_request(session, loan.id)
    if existing is not None:
        return Submission(True, request=request_view(existing), created=False, loan=view)
    change = change_debit_day(loan.next_due, new_day, target)
    if not change.ok:
        return Submission(False, change.reason, loan=view)
    request, created = _insert_once(session, loan, lambda: _new_request(
        loan, customer, new_day, change.new_due, reason, hardship, channel, channel_user, when))
    return Submission(True, request=request_view(request), created=created, loan=view)


def requests_of(session: Session, customer: Customer) -> List[RequestView]:
    """Every request the customer made, newest first, with what each still needs."""
    rows = session.execute(
        select(DeferralRequest).where(DeferralRequest.customer_id == customer.id)
        .order_by(DeferralRequest.created_at.desc(), DeferralRequest.id.desc())
    ).scalars()
    return [request_view(row) for row in rows]


def request_not_found() -> Refusal:
    """The same answer whether the number is malformed, unknown or someone else's."""
    return Refusal("not_found", "没有找到这笔申请，请核对申请编号（8位数字）后再试。")


def by_reference(session: Session, reference: str) -> DeferralRequest:
    request = session.execute(
        select(DeferralRequest).where(DeferralRequest.reference == references.canonical(reference))
    ).scalar_one_or_none()
    if request is None:
        raise request_not_found()
    return request


def move_status(session: Session, request: DeferralRequest, from_states: Tuple[str, ...], when: datetime,
          **values) -> bool:
    """Change status only if it is still in `from_states` (one atomic UPDATE)."""
    result = session.execute(
        update(DeferralRequest)
        .where(DeferralRequest.id == request.id, DeferralRequest.status.in_(from_states))
        .values(updated_at=local(when), **values).execution_options(synchronize_session=False)
    )
    session.refresh(request)
    return result.rowcount == 1


def cancel_request(session: Session, customer: Customer, reference: str, when: datetime) -> RequestView:
    """Withdraw the customer's own request while it is not decided.

    Raises Refusal("not_found") for someone else's or an unknown
    reference, ("decided") once approved, rejected or cancelled.
    """
    request = by_reference(session, reference)
    if request.customer_id != customer.id:
        raise request_not_found()
    if not move_status(session, request, OPEN_REQUEST_STATUSES, when, status=RequestStatus.CANCELLED):
        raise Refusal("decided", "这笔申请已经处理过了（可能同事刚刚处理过，或客户已撤回）。请刷新页面查看最新状态。")
    return request_view(request)
