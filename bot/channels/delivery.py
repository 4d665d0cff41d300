"""Pushing outbox messages to customers from inside the Rasa server.

Every channel that can reach a customer unprompted (widget: socket.io room;
WeChat: customer service API; REST: callback URL) implements `Pusher` and
calls `attach_delivery` on its blueprint. When the server starts, a loop
claims that channel's outbox rows (`bot.bank.messaging.outbox`), writes their messages
into the conversation's tracker under Rasa's lock (so the transcript is
complete and `resume` rows lift the hand-off pause), then pushes them.
A push that raises is retried on a later pass; nothing is dropped. A push
that finds the customer out of the channel's reach (`outbox.Unreachable`) is
parked at once; a row carrying a notification then moves on to the next
route (`bot.bank.messaging.notifications`), as it does when a row is parked
after its retries. `SmsDelivery` sends the notifications whose route has
become SMS, from whichever server claims them first; `remind_once` sends the
day-before booking reminders the same way.

A pusher that can show the customer that the agent is typing (`TypingPusher`)
gets those signals in the same loop (bot/bank/handoff/live.py), each
showing claimed by one server. Typing is a courtesy: a failure is logged
and never retried.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import timedelta
from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple, runtime_checkable

from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationResumed
from sanic import Blueprint, Sanic

from bot.bank.booking import reminders
from bot.bank.db import transaction
from bot.bank.handoff import attachments, escalations, live
from bot.bank.messaging import notifications, outbox
from bot.bank.messaging.outbox import OutboxItem, Unreachable
from bot.bank.messaging.sms import NoticeSender, notice_sender
from bot.clock import now
from bot.settings import settings

logger = logging.getLogger(__name__)
PURGE_SECONDS = 3600.0


class Pusher(Protocol):
    """Sends one outbox item to its recipient; raises if it could not."""

    async def push(self, item: OutboxItem) -> None:
        ...


@runtime_checkable
class TypingPusher(Pusher, Protocol):
    """A pusher that can also show the customer that the agent is typing, at most once per `typing_every`."""

    typing_every: timedelta

    async def show_typing(self, shown: live.TypingShown) -> None:
        ...


def _bot_event(item: OutboxItem, message: Dict[str, Any]) -> BotUttered:
    data = {key: value for key, value in message.items() if key not in ("text", "metadata")}
    metadata = {"outbox_kind": item.kind, "outbox_id": item.id, **message.get("metadata", {})}
    return BotUttered(text=message.get("text"), data=data, metadata=metadata)


async def record_in_tracker(agent: Any, item: OutboxItem) -> None:
    """Append the item's messages (and a resume) to the conversation's tracker."""
    async with agent.lock_store.lock(item.recipient_id):
        tracker = await agent.tracker_store.get_or_create_tracker(item.recipient_id)
        for message in item.messages:
            tracker.update(_bot_event(item, message))
        if item.resume:
            # Resume, then listen: the next message starts a fresh turn
            # instead of following whatever the customer said to the agent.
            tracker.update(ConversationResumed())
            tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
        await agent.tracker_store.save(tracker)


class OutboxDelivery:
    """Drains one channel's outbox rows into its pusher."""

    def __init__(self, channel: str, pusher: Pusher, agent: Any) -> None:
        self.channel = channel
        self.pusher = pusher
        self.agent = agent
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    async def deliver_pending(self) -> int:
        """One pass: release abandoned hand-offs, then claim, record, push.
        Returns how many were delivered."""
        items, typing = await asyncio.to_thread(self._release_and_claim)
        for shown in typing:   # before the pass's messages: a reply among them hides the dots again
            await self._show_typing(shown)
        delivered = 0
        for item in items:
            delivered += await self._deliver(item)
        return delivered

    async def _show_typing(self, shown: live.TypingShown) -> None:
        try:
            await self.pusher.show_typing(shown)
        except Exception as error:  # a courtesy only: never retried
            logger.info("could not show %s that the agent is typing: %r", self.channel, error)

    def _release_and_claim(self) -> Tuple[list, List[live.TypingShown]]:
        """Hand back abandoned cases and claim the agents' typing to show (one transaction),
        then claim the outbox rows, the released cases' apologies among them."""
        with transaction() as session:
            escalations.release_unclaimed(session, self.channel, at=now())
            typing = (live.claim_typing(session, self.channel, at=now(), every=self.pusher.typing_every)
                      if isinstance(self.pusher, TypingPusher) else [])
        with transaction() as session:
            return outbox.claim(session, self.channel, self.worker, at=now()), typing

    @staticmethod
    def _mark(mark: Callable, item_id: int, *args: Any) -> None:
        with transaction() as session:
            mark(session, item_id, *args, at=now())

    @staticmethod
    def _delivered(item: OutboxItem) -> None:
        with transaction() as session:
            outbox.mark_delivered(session, item.id, at=now())
            if item.notification_id:
                notifications.channel_delivered(session, item.notification_id, at=now())

    @staticmethod
    def _failed(item: OutboxItem, error: str, unreachable: bool) -> None:
        with transaction() as session:
            parked = outbox.mark_failed(session, item.id, error, at=now(), give_up=unreachable)
            if item.notification_id:
                notifications.channel_failed(session, item.notification_id, error, parked=parked, at=now())

    async def _deliver(self, item: OutboxItem) -> int:
        try:
            if not item.recorded:
                await record_in_tracker(self.agent, item)
                await asyncio.to_thread(self._mark, outbox.mark_recorded, item.id)
            await self.pusher.push(item)
        except Exception as error:  # a channel or network fault: retry later, or the next route
            logger.warning("outbox %s to %s failed: %r", item.id, self.channel, error)
            await asyncio.to_thread(self._failed, item, repr(error), isinstance(error, Unreachable))
            return 0
        await asyncio.to_thread(self._delivered, item)
        return 1


class SmsDelivery:
    """Sends notifications whose route is SMS through the configured sender, with backoff."""

    def __init__(self, sender: Optional[NoticeSender] = None) -> None:
        self.sender = sender or notice_sender()

    @staticmethod
    def _claim() -> list:
        with transaction() as session:
            return notifications.claim_sms(session, at=now())

    @staticmethod
    def _result(job: notifications.SmsJob, error: Optional[str]) -> None:
        with transaction() as session:
            notifications.sms_result(session, job.notification_id, error, at=now())

    async def deliver_pending(self) -> int:
        """One pass: claim the due ones, send each, record the outcome. Returns how many were sent."""
        sent = 0
        for job in await asyncio.to_thread(self._claim):
            try:
                await asyncio.to_thread(self.sender.send, job.phone, job.text)
            except Exception as error:  # the gateway's fault: try again after the backoff
                logger.warning("SMS notification %s failed: %r", job.notification_id, error)
                await asyncio.to_thread(self._result, job, repr(error))
                continue
            await asyncio.to_thread(self._result, job, None)
            sent += 1
        return sent


def purge_attachments() -> int:
    """Empty the hand-off files past the bank's retention (any server may; it is one UPDATE)."""
    with transaction() as session:
        return attachments.purge_expired(session, at=now())


def remind_once() -> int:
    """One pass of the day-before reminders (each booking claimed once across all servers)."""
    with transaction() as session:
        return reminders.send_reminders(session, at=now())


async def poll(name: str, deliver: Callable[[], Any], seconds: Callable[[], float]) -> None:
    """Run `deliver()` every `seconds()` until cancelled; a database outage only delays it."""
    while True:
        try:
            await deliver()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s failed; retrying", name)
        await asyncio.sleep(seconds())


def _outbox_poll() -> float:
    return float(settings().outbox_poll)


def attach_jobs(blueprint: Blueprint) -> None:
    """For as long as the Sanic app serves `blueprint` (the ops channel's), send SMS notifications
    and the day-before reminders, and delete expired files; every server runs them, and claims
    keep each send to one."""

    @blueprint.listener("after_server_start")
    async def _start(app: Sanic, _loop: Optional[asyncio.AbstractEventLoop]) -> None:
        app.add_task(poll("SMS notifications", SmsDelivery().deliver_pending, _outbox_poll), name="notifications-sms")
        app.add_task(poll("booking reminders", lambda: asyncio.to_thread(remind_once),
                          lambda: settings().reminder_poll), name="booking-reminders")
        app.add_task(poll("expired attachments", lambda: asyncio.to_thread(purge_attachments),
                          lambda: PURGE_SECONDS), name="attachments-purge")


def attach_delivery(blueprint: Blueprint, channel: str, make_pusher: Callable[[Sanic], Pusher]) -> None:
    """Run `channel`'s delivery loop for as long as the Sanic app serves `blueprint`."""

    @blueprint.listener("after_server_start")
    async def _start(app: Sanic, _loop: Optional[asyncio.AbstractEventLoop]) -> None:
        delivery = OutboxDelivery(channel, make_pusher(app), app.ctx.agent)
        app.add_task(poll(f"outbox delivery for {channel}", delivery.deliver_pending, _outbox_poll),
                     name=f"outbox-{channel}")
