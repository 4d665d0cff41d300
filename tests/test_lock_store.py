"""The atomic Redis lock store serialises a conversation's messages across servers (bot/lock_store.py).

Against the Redis on localhost:6379 that `.ci/run` starts; each test uses
keys of its own.
"""
from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import AtomicRedisLockStore
from tests.redis_service import redis_available

pytestmark = pytest.mark.skipif(not redis_available(), reason="needs Redis on localhost:6379 (.ci/run starts it)")


def a_server() -> AtomicRedisLockStore:
    """What one Rasa server builds from endpoints.yml (config/endpoints-cluster.yml)."""
    return LockStore.create(EndpointConfig.from_dict({
        "type": "bot.lock_store.AtomicRedisLockStore", "url": "localhost", "port": 6379, "db": 1,
        "key_prefix": "locktest"}))


def test_endpoints_yml_builds_it() -> None:
    store = a_server()
    assert isinstance(store, AtomicRedisLockStore)
    assert store.key_prefix == "locktest:lock:"


def test_tickets_are_served_in_order_and_the_lock_goes_with_the_last() -> None:
    store, conversation = a_server(), uuid.uuid4().hex
    assert [store.issue_ticket(conversation) for _ in range(3)] == [0, 1, 2]
    lock = store.get_lock(conversation)  # Rasa's own reading of the stored JSON
    assert [t.number for t in lock.tickets] == [0, 1, 2] and lock.now_serving == 0
    store.cleanup(conversation, 0)
    assert store.get_lock(conversation).now_serving == 1
    store.cleanup(conversation, 2)
    store.cleanup(conversation, 1)
    assert store.get_lock(conversation) is None


def test_expired_tickets_are_dropped() -> None:
    store, conversation = a_server(), uuid.uuid4().hex
    store.issue_ticket(conversation, lock_lifetime=-1)  # already expired
    assert store.issue_ticket(conversation) == 0
    store.issue_ticket(conversation, lock_lifetime=-1)
    store.update_lock(conversation)
    assert [t.number for t in store.get_lock(conversation).tickets] == [0]


def test_tickets_taken_at_once_by_many_servers_are_all_different() -> None:
    servers, conversation = [a_server() for _ in range(8)], uuid.uuid4().hex
    with ThreadPoolExecutor(len(servers)) as pool:
        numbers = list(pool.map(lambda i: servers[i % len(servers)].issue_ticket(conversation), range(400)))
    assert sorted(numbers) == list(range(400))


def test_messages_of_one_conversation_never_overlap_and_none_is_lost() -> None:
    """Three servers (threads with event loops of their own), 20 messages each, all for one conversation."""
    conversation = uuid.uuid4().hex
    inside, handled, overlaps = [], [], []

    async def handle(store: AtomicRedisLockStore, index: int) -> None:
        async with store.lock(conversation):
            inside.append(index)
            if len(inside) > 1:
                overlaps.append(index)
            await asyncio.sleep(0.002)
            handled.append(index)
            inside.remove(index)

    def server(number: int) -> None:
        store = a_server()

        async def messages() -> None:
            await asyncio.gather(*(handle(store, number * 20 + i) for i in range(20)))
        asyncio.run(messages())

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(server, range(3)))  # re-raises a LockError from any server
    assert overlaps == []
    assert sorted(handled) == list(range(60))
    assert a_server().get_lock(conversation) is None
