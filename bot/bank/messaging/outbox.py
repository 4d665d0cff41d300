"""The outbox: messages a customer must receive later, stored before they are sent.

Anything the bot says outside a reply to the customer's own message (an
agent's answer, "an agent has joined", a staff decision, a WeChat reply that
missed the 5-second window) becomes a row here first, written in the same
transaction as the fact it announces. The Rasa process drains the rows of
each channel (`bot.channels.delivery`) and hands them to that channel's
pusher. A row is claimed before it is sent so that two Rasa servers never
send it twice; a failed send is retried a few times and then parked with its
error, so nothing is lost silently.

A pusher that finds the customer out of its reach (WeChat's 48-hour window
has closed, nobody has the widget open) raises `Unreachable`: the row is
parked at once, and a row that carries a notification
(`bot.bank.messaging.notifications`) moves on to the next way of reaching
the customer, as it does when a row is parked after its retries.

Payload shape (JSON): `{"messages": [<Rasa bot message>...], "resume": bool}`
where a Rasa bot message is a dict such as `{"text": ...}`,
`{"text": ..., "buttons": [...]}` or `{"custom": {"handoff": "joined"}}`.
`resume: true` hands the conversation back to the bot after delivery;
`template: {"id", "data"}` makes the WeChat pusher send a template message.

Delivery records the messages in the conversation's tracker (so transcripts
show what the agent said) before pushing them; `recorded_at` makes a retry
push again without recording again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.bank.messaging.models import Outbox

MAX_ATTEMPTS = 5
# A claim older than this belongs to a worker that died mid-send: take it over.
CLAIM_TIMEOUT = timedelta(seconds=60)


class Unreachable(Exception):
    """The channel cannot reach this customer any more; trying it again is pointless."""


@dataclass(frozen=True)
class OutboxItem:
    """One claimed row, detached from the database session."""

    id: int
    channel: str
    recipient_id: str
    kind: str
    messages: List[Dict[str, Any]]
    resume: bool
    recorded: bool
    notification_id: Optional[int] = None
    template: Optional[Dict[str, Any]] = None


def queue(session: Session, channel: str, recipient_id: str, kind: str,
          messages: Sequence[Dict[str, Any]], *, at: datetime, resume: bool = False, record: bool = True,
          notification_id: Optional[int] = None, **extra: Any) -> Outbox:
    """Append a row inside the caller's transaction; `extra` is kept for reports.

    `record=False` is for messages the tracker already holds (a Rasa answer
    that missed WeChat's 5-second window), so they are not written twice.
    """
    row = Outbox(channel=channel, channel_user=recipient_id, kind=kind,
                 payload={"messages": list(messages), "resume": resume, **extra},
                 created_at=at, attempts=0, recorded_at=None if record else at, notification_id=notification_id)
    session.add(row)
    session.flush()
    return row


def _claimable(channel: str, at: datetime):
    stale = at - CLAIM_TIMEOUT
    return (Outbox.channel == channel, Outbox.delivered_at.is_(None), Outbox.failed_at.is_(None),
            or_(Outbox.claimed_at.is_(None), Outbox.claimed_at < stale))


def claim(session: Session, channel: str, worker: str, *, at: datetime, limit: int = 20) -> List[OutboxItem]:
    """Claim up to `limit` pending rows of `channel`, oldest first.

    The conditional UPDATE is the lock: if another worker claimed a row
    between our SELECT and UPDATE, our UPDATE matches nothing and we skip it.
    """
    items: List[OutboxItem] = []
    candidates = session.execute(
        select(Outbox).where(*_claimable(channel, at)).order_by(Outbox.id).limit(limit)).scalars().all()
    for row in candidates:
        taken = session.execute(
            update(Outbox).where(Outbox.id == row.id, *_claimable(channel, at))
            .values(claimed_at=at, claimed_by=worker)
            .execution_options(synchronize_session=False)).rowcount
        if taken:
            payload = row.payload or {}
            items.append(OutboxItem(id=row.id, channel=row.channel, recipient_id=row.channel_user,
                                    kind=row.kind, messages=list(payload.get("messages", [])),
                                    resume=bool(payload.get("resume")), recorded=row.recorded_at is not None,
                                    notification_id=row.notification_id, template=payload.get("template")))
    return items


def mark_recorded(session: Session, item_id: int, *, at: datetime) -> None:
    """The messages are in the conversation's tracker: never record them twice."""
    session.execute(update(Outbox).where(Outbox.id == item_id).values(recorded_at=at))


def mark_delivered(session: Session, item_id: int, *, at: datetime) -> None:
    session.execute(update(Outbox).where(Outbox.id == item_id).values(delivered_at=at))


def mark_failed(session: Session, item_id: int, error: str, *, at: datetime, give_up: bool = False) -> bool:
    """Release the claim for a retry, or park the row after `MAX_ATTEMPTS` (at once with
    `give_up`, for an unreachable customer). True when the row is parked."""
    row = session.get(Outbox, item_id)
    if row is None:
        return False
    row.attempts = (row.attempts or 0) + 1
    row.last_error = error[:500]
    row.claimed_at = None
    row.claimed_by = None
    if give_up or row.attempts >= MAX_ATTEMPTS:
        row.failed_at = at
    return row.failed_at is not None


def pending_for(session: Session, channel: str, recipient_id: str) -> List[Outbox]:
    """Rows not yet delivered to one customer (for tests and the console)."""
    return list(session.execute(
        select(Outbox).where(Outbox.channel == channel, Outbox.channel_user == recipient_id,
                             Outbox.delivered_at.is_(None)).order_by(Outbox.id)).scalars())

