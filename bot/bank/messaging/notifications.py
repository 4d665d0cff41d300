"""Messages the bank starts, and how they reach a customer who has left the chat.

A staff decision, an agent's reply, a callback that did not get through:
each is a `Notification`, written in the transaction of the fact it
announces. It travels the first way that still works:

1. the conversation's own channel, through the outbox (WeChat customer
   service message, the widget, the REST callback);
2. on WeChat, once the 48-hour window for customer service messages has
   closed, a template message, when a template id is configured for the
   kind (`WECHAT_TEMPLATE_IDS`);
3. otherwise an SMS to the phone the customer verified, through the
   pluggable sender (`bot.bank.messaging.sms`), retried with a doubling
   wait (`HELPLINE_NOTICE_RETRY_SECONDS`) up to `SMS_ATTEMPTS` times.

A channel that can no longer reach the customer says so (`outbox.Unreachable`)
and the notification moves on at once; one that keeps failing moves on when
its outbox row is parked. Every try is recorded (`NotificationAttempt`), and
the status is what staff see in the console and the insights count.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bot.bank.customers.models import ChannelLink, Customer
from bot.bank.masking import mask_phone, mask_text
from bot.bank.messaging import outbox
from bot.bank.messaging.models import (
    Notification,
    NotificationAttempt,
    NotificationKind,
    NotificationStatus,
    ReminderOptOut,
    Route,
)
from bot.wording import text_of
from bot.bank.profile import load_profile
from bot.bank.refusals import Refusal
from bot.identifiers import MOBILE
from bot.settings import settings

WECHAT = "wechat"
SMS_ATTEMPTS = 5
CLAIM_TIMEOUT = timedelta(seconds=60)
TEMPLATE_TEXT_LIMIT = 200           # WeChat cuts a template field's value around here
# Kinds a customer may unsubscribe from; never a decision on their own request.
OPTIONAL_KINDS = frozenset({NotificationKind.BOOKING_REMINDER})
KIND_LABELS = {
    NotificationKind.DEFERRAL_DECISION: "扣款日变更结果",
    NotificationKind.AGENT_REPLY: "客服回复",
    NotificationKind.CALLBACK_FAILED: "回电未接通",
    NotificationKind.BOOKING_CONFIRMATION: "预约确认",
    NotificationKind.BOOKING_REMINDER: "预约提醒",
    NotificationKind.BRANCH_CANCELLATION: "网点调整取消预约",
}
STATUS_LABELS = {
    NotificationStatus.PENDING: "发送中", NotificationStatus.DELIVERED: "已送达",
    NotificationStatus.FAILED: "未能送达", NotificationStatus.OPTED_OUT: "客户已退订",
}
ROUTE_LABELS = {Route.CHANNEL: "原渠道", Route.WECHAT_TEMPLATE: "微信模板消息", Route.SMS: "短信"}


@dataclass(frozen=True)
class SmsJob:
    """One claimed SMS: where it goes and what it says."""

    notification_id: int
    phone: str
    text: str


@dataclass(frozen=True)
class NotificationView:
    """A notification as the console lists it (phone masked)."""

    id: int
    kind: str
    kind_label: str
    channel: str
    customer_phone: str
    text: str
    status: str
    status_label: str
    route_label: str
    attempts: int
    last_error: str
    created_at: datetime
    delivered_at: Optional[datetime]


# --- writing ----------------------------------------------------------------------------------

def _linked_customer(session: Session, channel: str, channel_user: str) -> Optional[int]:
    return session.execute(select(ChannelLink.customer_id).where(
        ChannelLink.channel == channel, ChannelLink.channel_user == channel_user)).scalar_one_or_none()


def notify(session: Session, kind: NotificationKind, channel: str, channel_user: Optional[str],
           messages: Sequence[Dict[str, Any]], *, at: datetime, text: Optional[str] = None,
           customer_id: Optional[int] = None, outbox_kind: Optional[str] = None, **facts: Any) -> Notification:
    """Record the notification and queue it on the conversation's channel, in the caller's transaction.

    `text` is how the message reads on its own, in an SMS or a template
    (default: the messages' texts); `facts` are kept for reports and on the
    outbox row (`outbox_kind` names that row, the kind by default). The
    customer is the one linked to the channel user unless given. Without a
    channel user (nobody chatting: a reminder for a booking made at the
    counter) it goes straight to SMS. A reminder for a customer who opted
    out is recorded as such and not sent.
    """
    alone = text if text is not None else "\n".join(m["text"] for m in messages if m.get("text"))
    if customer_id is None and channel_user:
        customer_id = _linked_customer(session, channel, channel_user)
    notification = Notification(
        kind=kind, customer_id=customer_id, channel=channel, channel_user=channel_user or "", text=alone,
        fields=dict(facts), status=NotificationStatus.PENDING, route=Route.CHANNEL, attempts=0, created_at=at)
    session.add(notification)
    session.flush()
    if kind in OPTIONAL_KINDS and customer_id is not None and opted_out(session, customer_id):
        notification.status = NotificationStatus.OPTED_OUT
    elif not channel_user:
        notification.route, notification.next_attempt_at = Route.SMS, at
    else:
        outbox.queue(session, channel, channel_user, outbox_kind or kind.value, messages, at=at,
                     notification_id=notification.id, **facts)
    return notification


def opted_out(session: Session, customer_id: int) -> bool:
    return session.get(ReminderOptOut, customer_id) is not None


def opt_out(session: Session, customer_id: int, *, at: datetime) -> None:
    """The customer said 退订: no more reminders (decisions on their own requests still come)."""
    session.merge(ReminderOptOut(customer_id=customer_id, opted_out_at=at))
    session.flush()


def opt_in(session: Session, customer_id: int) -> None:
    """The customer asked for reminders again (恢复提醒)."""
    opt_out_row = session.get(ReminderOptOut, customer_id)
    if opt_out_row is not None:
        session.delete(opt_out_row)
        session.flush()


def opt_out_phone(session: Session, phone: str, *, at: datetime) -> str:
    """Record the opt-out of the customer with this mobile number (they asked a member of staff);
    returns the number masked."""
    phone = re.sub(r"[\s-]", "", phone or "")
    if not re.fullmatch(MOBILE, phone):
        raise Refusal("invalid", "请填写客户的11位手机号。")
    customer_id = session.execute(select(Customer.id).where(Customer.phone == phone)).scalar_one_or_none()
    if customer_id is None:
        raise Refusal("not_found", "没有找到用这个手机号的客户，请核对后再试。")
    opt_out(session, customer_id, at=at)
    return mask_phone(phone)


def _attempt(session: Session, notification: Notification, ok: bool, error: Optional[str], at: datetime) -> None:
    session.add(NotificationAttempt(notification_id=notification.id, route=notification.route, at=at, ok=ok,
                                    error=error[:500] if error else None))
    notification.attempts = (notification.attempts or 0) + 1


def channel_delivered(session: Session, notification_id: int, *, at: datetime) -> None:
    """The outbox row of the current route (channel or template) reached the customer."""
    notification = session.get(Notification, notification_id)
    if notification is None:
        return
    _attempt(session, notification, True, None, at)
    notification.status, notification.delivered_at = NotificationStatus.DELIVERED, at


def channel_failed(session: Session, notification_id: int, error: str, *, parked: bool, at: datetime) -> None:
    """A push of the current route failed; once its row is parked, try the next route."""
    notification = session.get(Notification, notification_id)
    if notification is None:
        return
    _attempt(session, notification, False, error, at)
    notification.last_error = error[:500]
    if parked:
        _fall_back(session, notification, at)


def template_id(kind: str) -> Optional[str]:
    """The WeChat template configured for this kind of notification, if any."""
    return settings().wechat_templates.get(kind)


def _template(notification: Notification) -> Dict[str, Any]:
    text = notification.text
    if len(text) > TEMPLATE_TEXT_LIMIT:
        text = text[:TEMPLATE_TEXT_LIMIT - 1] + "…"
    remark = text_of("utter_notice_template_remark", hotline=load_profile().hotline)
    return {"id": template_id(notification.kind), "data": {
        "first": {"value": text_of(f"utter_notice_title_{notification.kind}")},
        "keyword1": {"value": text},
        "remark": {"value": remark},
    }}


def _fall_back(session: Session, notification: Notification, at: datetime) -> None:
    """Move to the next route: a WeChat template after the channel, then SMS, then give up."""
    if notification.route == Route.CHANNEL and notification.channel == WECHAT and template_id(notification.kind):
        notification.route = Route.WECHAT_TEMPLATE
        outbox.queue(session, WECHAT, notification.channel_user, f"{notification.kind}_template", [], at=at,
                     record=False, notification_id=notification.id, template=_template(notification))
        return
    if notification.route in (Route.CHANNEL, Route.WECHAT_TEMPLATE):
        notification.route, notification.next_attempt_at = Route.SMS, at
        return
    notification.status = NotificationStatus.FAILED


# --- SMS ----------------------------------------------------------------------------------------

def _due_sms(at: datetime):
    return (Notification.route == Route.SMS, Notification.status == NotificationStatus.PENDING,
            Notification.next_attempt_at <= at,
            or_(Notification.claimed_at.is_(None), Notification.claimed_at < at - CLAIM_TIMEOUT))


def claim_sms(session: Session, *, at: datetime, limit: int = 20) -> List[SmsJob]:
    """Claim due SMS notifications (a conditional UPDATE, so two servers never send one twice).

    One without a verified phone cannot go anywhere: it fails here, visibly.
    """
    jobs: List[SmsJob] = []
    due = session.execute(select(Notification).where(*_due_sms(at)).order_by(Notification.id).limit(limit))
    for notification in due.scalars().all():
        taken = session.execute(update(Notification).where(Notification.id == notification.id, *_due_sms(at))
                                .values(claimed_at=at).execution_options(synchronize_session=False)).rowcount
        if not taken:
            continue
        customer = session.get(Customer, notification.customer_id) if notification.customer_id else None
        if customer is None:
            sms_failed_for_good(session, notification, "客户没有验证过手机号，无法发短信", at)
            continue
        text = text_of("utter_notice_sms", bank=load_profile().name, text=notification.text)
        jobs.append(SmsJob(notification.id, customer.phone, text))
    return jobs


def sms_failed_for_good(session: Session, notification: Notification, error: str, at: datetime) -> None:
    _attempt(session, notification, False, error, at)
    notification.status, notification.last_error, notification.claimed_at = NotificationStatus.FAILED, error, None


def sms_result(session: Session, notification_id: int, error: Optional[str] = None, *, at: datetime) -> None:
    """Record an SMS attempt: delivered, or tried again after a doubling wait, or failed for good."""
    notification = session.get(Notification, notification_id)
    if notification is None:
        return
    _attempt(session, notification, error is None, error, at)
    notification.claimed_at = None
    if error is None:
        notification.status, notification.delivered_at = NotificationStatus.DELIVERED, at
        return
    notification.last_error = error[:500]
    sms_tries = session.execute(select(func.count()).select_from(NotificationAttempt).where(
        NotificationAttempt.notification_id == notification.id, NotificationAttempt.route == Route.SMS)).scalar_one()
    if sms_tries >= SMS_ATTEMPTS:
        notification.status = NotificationStatus.FAILED
        return
    wait = settings().notice_retry_seconds * 2 ** (sms_tries - 1)
    notification.next_attempt_at = at + timedelta(seconds=wait)


# --- reading ------------------------------------------------------------------------------------

def _view(notification: Notification, phone: Optional[str]) -> NotificationView:
    return NotificationView(
        id=notification.id, kind=notification.kind, kind_label=KIND_LABELS[NotificationKind(notification.kind)],
        channel=notification.channel, customer_phone=mask_phone(phone) if phone else "",
        text=mask_text(notification.text), status=notification.status,
        status_label=STATUS_LABELS[NotificationStatus(notification.status)],
        route_label=ROUTE_LABELS[Route(notification.route)], attempts=notification.attempts,
        last_error=notification.last_error or "", created_at=notification.created_at,
        delivered_at=notification.delivered_at)


def recent(session: Session, *, status: Optional[str] = None, limit: int = 100) -> List[NotificationView]:
    """The latest notifications, newest first, optionally of one status, for the console."""
    query = (select(Notification, Customer.phone).outerjoin(Customer, Customer.id == Notification.customer_id)
             .order_by(Notification.id.desc()).limit(limit))
    if status:
        query = query.where(Notification.status == NotificationStatus(status))
    return [_view(notification, phone) for notification, phone in session.execute(query)]


def counts(session: Session, since: datetime, until: datetime,
           channel: Optional[str] = None) -> List[Tuple[str, str, str, int]]:
    """(kind, status, route, how many) of the notifications created in [since, until), optionally
    for conversations on one channel, for the insights."""
    query = (select(Notification.kind, Notification.status, Notification.route, func.count())
             .where(Notification.created_at >= since, Notification.created_at < until)
             .group_by(Notification.kind, Notification.status, Notification.route))
    if channel:
        query = query.where(Notification.channel == channel)
    rows = session.execute(query)
    return [(str(kind), str(status), str(route), number) for kind, status, route, number in rows]
