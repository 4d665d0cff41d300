"""Pushing outbox messages to customers from inside the Rasa server.

Every channel that can reach a customer unprompted (widget: socket.io room;
WeChat: customer service API; REST: callback URL) implements `Pusher` and
calls `attach_delivery` on its blueprint. When the server starts, a loop
claims that channel's outbox rows (`bot.bank.messaging.outbox`), writes their messages
into the conversation's tracker under Rasa's lock (so the transcript is
complete and `resume` rows lift the hand-off pause), then pushes them.
A push that raises is retried on a later pass; nothing is dropped.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any, Callable, Dict, Optional, Protocol

from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationResumed
from sanic import Blueprint, Sanic

from bot.bank.db import transaction
from bot.bank.handoff import escalations
from bot.bank.messaging import outbox
from bot.bank.messaging.outbox import OutboxItem
from bot.clock import now
from bot.settings import settings

logger = logging.getLogger(__name__)


class Pusher(Protocol):
    """Sends one outbox item to its recipient; raises if it could not."""

    async def push(self, item: OutboxItem) -> None:
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
        items = await asyncio.to_thread(self._release_and_claim)
        delivered = 0
        for item in items:
            delivered += await self._deliver(item)
        return delivered

    def _release_and_claim(self) -> list:
        with transaction() as session:
            escalations.release_unclaimed(session, self.channel, at=now())
        with transaction() as session:
            return outbox.claim(session, self.channel, self.worker, at=now())

    @staticmethod
    def _mark(mark: Callable, item_id: int, *args: Any) -> None:
        with transaction() as session:
            mark(session, item_id, *args, at=now())

    async def _deliver(self, item: OutboxItem) -> int:
        try:
            if not item.recorded:
                await record_in_tracker(self.agent, item)
                await asyncio.to_thread(self._mark, outbox.mark_recorded, item.id)
            await self.pusher.push(item)
        except Exception as error:  # a channel or network fault: retry later
            logger.warning("outbox %s to %s failed: %r", item.id, self.channel, error)
            await asyncio.to_thread(self._mark, outbox.mark_failed, item.id, repr(error))
            return 0
        await asyncio.to_thread(self._mark, outbox.mark_delivered, item.id)
        return 1

    async def run(self) -> None:
        """Poll until cancelled; a database outage only delays delivery."""
        while True:
            try:
                await self.deliver_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("outbox delivery for %s failed; retrying", self.channel)
            await asyncio.sleep(float(settings().outbox_poll))


def attach_delivery(blueprint: Blueprint, channel: str, make_pusher: Callable[[Sanic], Pusher]) -> None:
    """Run `channel`'s delivery loop for as long as the Sanic app serves `blueprint`."""

    @blueprint.listener("after_server_start")
    async def _start(app: Sanic, _loop: Optional[asyncio.AbstractEventLoop]) -> None:
        delivery = OutboxDelivery(channel, make_pusher(app), app.ctx.agent)
        app.add_task(delivery.run(), name=f"outbox-{channel}")
