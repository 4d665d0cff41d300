"""Telling customers about decisions on the channel they used.

`notify_decision` words a staff decision on a deferral request in Chinese
and makes it a notification (`bot.bank.messaging.notifications`): the
channel's delivery loop in the Rasa process sends it (WeChat, web widget,
REST callback), and when that channel can no longer reach the customer it
goes as a WeChat template message or an SMS. Nothing here talks to a
channel, so a decision never waits on, or fails because of, one. A decision
on the customer's own request is never held back by an opt-out.

The row is written with the decision's `session`, in the same transaction:
either both are stored or neither.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict

from sqlalchemy.orm import Session

from bot.bank.debit_day.models import RequestStatus
from bot.bank.debit_day.review import Decision
from bot.bank.messaging import notifications
from bot.bank.messaging.models import NotificationKind
from bot.bank.profile import load_profile

DEFERRAL_DECISION = "deferral_decision"


def _loan_words(decision: Decision) -> str:
    # Only the tail of the contract number: a chat window may be seen by others.
    return f"您的{decision.product}（合同号尾号 {decision.contract_no[-4:]}）"


def decision_text(decision: Decision) -> str:
    """The message the customer receives (Chinese, plain text)."""
    hotline = load_profile().hotline
    loan = _loan_words(decision)
    if decision.outcome == RequestStatus.APPROVED:
        due = decision.new_due
        due_words = f"，下一期还款日为 {due.year}年{due.month}月{due.day}日" if due else ""
        return (f"您好！{loan}变更扣款日申请（编号 {decision.reference}）已审批通过："
                f"今后每月 {decision.new_day} 日扣款{due_words}。请在扣款日前在还款账户中存足款项。"
                f"如有疑问，请致电客服热线 {hotline}。")
    note = (decision.note or "").strip().rstrip("。.")
    return (f"您好！很抱歉，{loan}变更扣款日申请（编号 {decision.reference}）未能通过。"
            f"原因：{note}。原扣款日和还款日不变。如有疑问，请致电客服热线 {hotline}，我们会为您说明。")


def _facts(decision: Decision) -> Dict[str, Any]:
    """Kept beside the message so reports need not parse Chinese text."""
    return {
        "reference": decision.reference,
        "outcome": decision.outcome,
        "new_day": decision.new_day if decision.outcome == RequestStatus.APPROVED else None,
        "new_due": decision.new_due.isoformat() if decision.new_due else None,
    }


def notify_decision(session: Session, decision: Decision, *, at: datetime) -> None:
    """Notify the customer of `decision`, in the decision's transaction."""
    notifications.notify(session, NotificationKind.DEFERRAL_DECISION, decision.channel, decision.channel_user,
                         [{"text": decision_text(decision)}], at=at, customer_id=decision.customer_id,
                         outbox_kind=DEFERRAL_DECISION, **_facts(decision))
