"""Telling customers about decisions on the channel they used.

`notify_decision` renders a staff decision on a debit-day request from the
domain's responses and makes it a notification (`bot.bank.messaging.notifications`):
the channel's delivery loop in the Rasa process sends it (WeChat, web widget,
REST callback), and when that channel can no longer reach the customer it
goes as a WeChat template message or an SMS. Nothing here talks to a
channel, so a decision never waits on, or fails because of, one. A decision
on the customer's own request is never held back by an opt-out.

The row is written with the decision's `session`, in the same transaction:
either both are stored or neither.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Dict

from sqlalchemy.orm import Session

from bot.bank.debit_day.models import RequestStatus
from bot.bank.debit_day.review import Decision
from bot.bank.formatting import month_day
from bot.bank.messaging import notifications
from bot.bank.messaging.models import NotificationKind
from bot.clock import local
from bot.wording import render

DEFERRAL_DECISION = "deferral_decision"


def decision_message(decision: Decision, today: date) -> Dict[str, Any]:
    """The message the customer receives: `utter_deferral_approved` or `utter_deferral_rejected`,
    or `utter_deferral_rejected_past_due` when the review outlasted the debit date the
    customer is told still stands (a review takes up to 3 working days).
    Only the tail of the contract number: a chat window may be seen by others."""
    values = {"product": decision.product, "tail": decision.contract_no[-4:], "reference": decision.reference}
    if decision.outcome == RequestStatus.APPROVED:
        return render("utter_deferral_approved", day=decision.new_day,
                      new_due=month_day(decision.new_due) if decision.new_due else "", **values)
    note = (decision.note or "").strip().rstrip("。.")
    past_due = decision.current_due is not None and decision.current_due < today
    return render("utter_deferral_rejected_past_due" if past_due else "utter_deferral_rejected", note=note,
                  current_due=month_day(decision.current_due) if decision.current_due else "", **values)


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
                         [decision_message(decision, local(at).date())], at=at, customer_id=decision.customer_id,
                         outbox_kind=DEFERRAL_DECISION, **_facts(decision))
