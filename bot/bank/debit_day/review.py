"""The bank's side of a debit-day change: the queue, the recorded calls, the decision.

Staff see open requests hardship first; they record each co-borrower's
answer on the recorded call, and approve once everyone confirmed or reject
with a note the customer is told. Decisions move status with a conditional
UPDATE, so two staff members (or a customer cancelling while staff approve)
can never both win. Refusals are `Refusal`s: "not_found", "decided",
"unconfirmed", "due_changed", and "invalid" for a form left incomplete.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.bank.debit_day.models import OPEN_REQUEST_STATUSES, ConfirmationStatus, DeferralRequest, Loan, RequestStatus
from bot.bank.debit_day.applications import by_reference, move_status, waiting_for
from bot.bank.debit_day.rules import change_debit_day
from bot.bank.refusals import Refusal
from bot.clock import local


@dataclass(frozen=True)
class StaffConfirmation:
    """A confirmation task as staff see it: whom to call, unmasked."""

    id: int
    name: str
    phone: str
    status: str
    call_reference: Optional[str]
    recorded_by: Optional[str]
    recorded_at: Optional[datetime]


@dataclass(frozen=True)
class QueueItem:
    """A request in the staff console, with everything needed to call and decide."""

    reference: str
    contract_no: str
    product: str
    borrower_name: str
    borrower_phone: str
    requested_day: int
    current_due: date
    new_due: date
    reason: str
    hardship: bool
    status: str
    channel: str
    created_at: datetime
    confirmations: Tuple[StaffConfirmation, ...]
    waiting_for: str
    staff_note: str
    decided_at: Optional[datetime]
    decided_by: Optional[str]

    @property
    def ready(self) -> bool:
        """Every co-borrower confirmed: staff may approve."""
        return all(c.status == ConfirmationStatus.CONFIRMED for c in self.confirmations)


@dataclass(frozen=True)
class Decision:
    """A staff decision, with what the bot needs to tell the customer where they asked."""

    reference: str
    outcome: str  # RequestStatus.APPROVED or RequestStatus.REJECTED
    channel: str
    channel_user: str
    customer_id: int
    contract_no: str
    product: str
    new_day: int
    new_due: Optional[date]  # the loan's next due date after approval; None when rejected
    note: str
    decided_at: datetime
    current_due: Optional[date] = None  # the loan's next due date once decided (unchanged when rejected)


def queue_item(request: DeferralRequest) -> QueueItem:
    loan = request.loan
    confirmations = tuple(
        StaffConfirmation(c.id, c.name, c.phone, c.status, c.call_reference, c.recorded_by,
                          local(c.recorded_at))
        for c in request.confirmations
    )
    return QueueItem(request.reference, loan.contract_no, loan.product, loan.borrower_name,
                     loan.borrower_phone, request.requested_day, request.current_due, request.new_due,
                     request.reason, request.hardship, request.status, request.channel,
                     local(request.created_at),
                     confirmations, waiting_for(request), request.staff_note, local(request.decided_at),
                     request.decided_by)


def staff_queue(session: Session, limit: Optional[int] = None) -> List[QueueItem]:
    """Open requests for staff: hardship first (people who cannot pay), then oldest."""
    query = (
        select(DeferralRequest).where(DeferralRequest.status.in_(OPEN_REQUEST_STATUSES))
        .order_by(DeferralRequest.hardship.desc(), DeferralRequest.created_at, DeferralRequest.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return [queue_item(row) for row in session.execute(query).scalars()]


def staff_request(session: Session, reference: str) -> QueueItem:
    """One request in full, open or decided, for the console's detail page."""
    return queue_item(by_reference(session, reference))


def _open_for_staff(session: Session, reference: str) -> DeferralRequest:
    request = by_reference(session, reference)
    if request.status not in OPEN_REQUEST_STATUSES:
        raise Refusal("decided", "这笔申请已经处理过了（可能同事刚刚处理过，或客户已撤回）。请刷新页面查看最新状态。")
    return request


def record_confirmation(session: Session, reference: str, phone: str, outcome: str, call_reference: str,
                        staff: str, when: datetime) -> QueueItem:
    """Record a co-borrower's answer on the recorded call (may be re-recorded while open).

    When every co-borrower has confirmed, the request goes back to
    "submitted" (ready for a decision); otherwise it awaits confirmation.
    """
    if outcome not in (ConfirmationStatus.CONFIRMED, ConfirmationStatus.REFUSED):
        raise Refusal("invalid", "请选择共同借款人的答复：同意或不同意。")
    if not (call_reference or "").strip():
        raise Refusal("invalid", "请填写录音电话的通话编号，便于日后核查录音。")
    request = _open_for_staff(session, reference)
    task = next((c for c in request.confirmations if c.phone == phone), None)
    if task is None:
        raise Refusal("not_found", "没有找到这位共同借款人，请刷新页面后再试。")
    task.status, task.call_reference = outcome, call_reference.strip()
    task.recorded_by, task.recorded_at = staff, local(when)
    session.flush()
    status = RequestStatus.SUBMITTED if all(c.status == ConfirmationStatus.CONFIRMED for c in request.confirmations) else RequestStatus.AWAITING_CONFIRMATION
    if not move_status(session, request, OPEN_REQUEST_STATUSES, when, status=status):
        raise Refusal("decided", "这笔申请已经处理过了（可能同事刚刚处理过，或客户已撤回）。请刷新页面查看最新状态。")
    return queue_item(request)


def _due_on_approval(loan: Loan, request: DeferralRequest) -> date:
    """The loan's next due date under the new day.

    If the loan's due date moved since the request (a payment was taken),
    the rule is applied again to the current due date, so approval never
    pulls a payment earlier or pushes it more than a month.
    """
    if loan.next_due == request.current_due:
        return request.new_due
    change = change_debit_day(loan.next_due, request.requested_day)
    if change.ok:
        return change.new_due
    if change.reason == "same_day":
        return loan.next_due
    raise Refusal("due_changed", ("申请提交后这笔贷款的还款日已经变化，按现在的还款日无法改到所申请的扣款日。"
                                    "请选择不通过，并请客户重新申请，给您添麻烦了。"))


def _decide(session: Session, request: DeferralRequest, from_states: Tuple[str, ...], outcome: str,
            staff: str, note: str, when: datetime) -> bool:
    """Record a staff decision, only if nobody decided (or cancelled) first."""
    return move_status(session, request, from_states, when, status=outcome, decided_at=local(when),
                 decided_by=staff, staff_note=(note or "").strip())


def _decision(request: DeferralRequest, new_due: Optional[date]) -> Decision:
    return Decision(request.reference, request.status, request.channel, request.channel_user,
                    request.customer_id, request.loan.contract_no, request.loan.product,
                    request.requested_day, new_due, request.staff_note, local(request.decided_at),
                    request.loan.next_due)


def approve(session: Session, reference: str, staff: str, when: datetime, note: str = "") -> Decision:
    """Approve a request whose co-borrowers all confirmed; move the loan's debit day.

    Raises Refusal "not_found", "decided", "unconfirmed" (a co-borrower
    has not confirmed or refused) or "due_changed".
    """
    request = _open_for_staff(session, reference)
    if any(c.status != ConfirmationStatus.CONFIRMED for c in request.confirmations):
        raise Refusal("unconfirmed", "还有共同借款人没有同意，暂时不能批准。请先打录音电话确认，并在下方登记结果。")
    loan = request.loan
    new_due = _due_on_approval(loan, request)
    if not _decide(session, request, (RequestStatus.SUBMITTED,), RequestStatus.APPROVED, staff, note, when):
        raise Refusal("decided", "这笔申请已经处理过了（可能同事刚刚处理过，或客户已撤回）。请刷新页面查看最新状态。") if request.status not in OPEN_REQUEST_STATUSES else Refusal("unconfirmed", "还有共同借款人没有同意，暂时不能批准。请先打录音电话确认，并在下方登记结果。")
    loan.debit_day, loan.next_due = request.requested_day, new_due
    session.flush()
    return _decision(request, new_due)


def reject(session: Session, reference: str, staff: str, note: str, when: datetime) -> Decision:
    """Reject an open request; the note says why (it is what the customer is told)."""
    if not (note or "").strip():
        raise Refusal("invalid", "选择不通过时请填写原因。这段话会原样发给客户，请用客户能看懂的话写。")
    request = _open_for_staff(session, reference)
    if not _decide(session, request, OPEN_REQUEST_STATUSES, RequestStatus.REJECTED, staff, note, when):
        raise Refusal("decided", "这笔申请已经处理过了（可能同事刚刚处理过，或客户已撤回）。请刷新页面查看最新状态。")
    return _decision(request, None)
