"""Outbox delivery: recorded once in the tracker, pushed until it succeeds, never twice."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ConversationPaused
from sqlalchemy import select

from bot.bank.messaging import outbox
from bot.bank.db import transaction
from bot.bank.models import Outbox
from bot.channels.delivery import OutboxDelivery
from bot.clock import now
from tests.bankdb import serve


class RecordingPusher:
    def __init__(self, failures: int = 0) -> None:
        self.failures, self.pushed = failures, []

    async def push(self, item) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("channel down")
        self.pushed.append(item)


@pytest.fixture
def agent(bank_db):
    return SimpleNamespace(tracker_store=InMemoryTrackerStore(Domain.empty()), lock_store=InMemoryLockStore())


def queue_closing(recipient: str = "c1", channel: str = "rest") -> int:
    with transaction() as session:
        return outbox.queue(session, channel, recipient, "handoff_closed",
                            [{"custom": {"handoff": "left"}}, {"text": "本次人工服务已结束"}], at=now(), resume=True).id


def row(row_id: int) -> Outbox:
    with transaction() as session:
        return session.execute(select(Outbox).where(Outbox.id == row_id)).scalar_one()


async def test_a_closing_message_is_recorded_pushed_and_resumes_the_conversation(agent):
    paused = await agent.tracker_store.get_or_create_tracker("c1")
    paused.update(ConversationPaused())
    await agent.tracker_store.save(paused)
    row_id = queue_closing()
    pusher = RecordingPusher()
    assert await OutboxDelivery("rest", pusher, agent).deliver_pending() == 1
    tracker = await agent.tracker_store.retrieve("c1")
    assert not tracker.is_paused()
    assert [event.text for event in tracker.events if event.type_name == "bot"] == [None, "本次人工服务已结束"]
    assert [item.id for item in pusher.pushed] == [row_id] and row(row_id).delivered_at is not None
    assert await OutboxDelivery("rest", pusher, agent).deliver_pending() == 0


async def test_a_failed_push_is_retried_without_recording_twice(agent):
    row_id = queue_closing()
    delivery = OutboxDelivery("rest", RecordingPusher(failures=2), agent)
    assert await delivery.deliver_pending() == 0
    assert await delivery.deliver_pending() == 0
    assert (row(row_id).attempts, row(row_id).delivered_at) == (2, None)
    assert await delivery.deliver_pending() == 1
    tracker = await agent.tracker_store.retrieve("c1")
    assert sum(event.type_name == "bot" for event in tracker.events) == 2


async def test_a_push_that_keeps_failing_is_parked_with_its_error(agent):
    row_id = queue_closing()
    delivery = OutboxDelivery("rest", RecordingPusher(failures=99), agent)
    for _ in range(outbox.MAX_ATTEMPTS + 2):
        await delivery.deliver_pending()
    parked = row(row_id)
    assert parked.failed_at is not None and parked.attempts == outbox.MAX_ATTEMPTS
    assert "channel down" in parked.last_error


async def test_each_channel_delivers_only_its_own_rows(agent):
    queue_closing("w1", channel="wechat")
    pusher = RecordingPusher()
    assert await OutboxDelivery("rest", pusher, agent).deliver_pending() == 0


def test_a_claimed_row_is_not_claimed_again_by_another_worker(bank_db):
    queue_closing()
    assert len(serve(outbox.claim, "rest", "worker-a")) == 1
    assert serve(outbox.claim, "rest", "worker-b") == []


def test_messages_already_in_the_tracker_are_not_recorded_again(bank_db):
    with transaction() as session:
        outbox.queue(session, "wechat", "o1", "late_reply", [{"text": "晚到的回答"}], at=now(), record=False)
    (item,) = serve(outbox.claim, "wechat", "worker-a")
    assert item.recorded
