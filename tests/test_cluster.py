"""Two Rasa servers and two action servers behind the proxy, on PostgreSQL.

What scaling out must not break: a conversation whose turns land on
different Rasa servers keeps every turn once and in order (shared tracker
store, Redis lock store), and a booking is made once. The clock is pinned to
Monday 28 September 2026 as in the other HTTP tests.
"""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List

import pytest
import requests
from sqlalchemy import create_engine, text

from bot.bank.capacity.slots import DEFAULT_CAPACITY
from bot.ops.cluster import Cluster
from tests.bankdb import postgres_available, scratch_postgres
from tests.conftest import PINNED_NOW
from tests.conversation import Customer
from tests.test_booking_http import book_tuesday_signing

pytestmark = [pytest.mark.server, pytest.mark.cluster]


@dataclass
class ProxyClient:
    """What `Customer` needs of a stack, talking to the proxy; notes what was said and who answered."""

    url: str
    workdir: Path
    upstreams: List[str] = field(default_factory=list)
    said: Dict[str, List[str]] = field(default_factory=dict)

    def say(self, sender: str, message: str, timeout: float = 60) -> List[dict]:
        self.said.setdefault(sender, []).append(message)
        response = requests.post(f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": message},
                                 timeout=timeout)
        response.raise_for_status()
        self.upstreams.append(response.headers["X-Upstream"])
        return response.json()


@dataclass
class PhoneCustomer(Customer):
    """A customer who reads the code sent to their own phone (others text concurrently)."""

    phone: str = ""

    def latest_code(self) -> str:
        lines = (self.stack.workdir / "dev_sms.log").read_text(encoding="utf-8").splitlines()
        return [line.split()[1] for line in lines if line.split()[0] == self.phone][-1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    workdir = tmp_path_factory.mktemp("cluster")
    with scratch_postgres() as url:
        env = {"HELPLINE_NOW": PINNED_NOW, "HELPLINE_DATA_DIR": str(workdir),
               "HELPLINE_RATE_PER_MINUTE": "6000", "HELPLINE_RATE_BURST": "1000"}
        running = Cluster(workdir=workdir, database_url=url, servers=2, env_extra=env,
                          lock_store_prefix=f"test{uuid.uuid4().hex[:8]}").start()
        try:
            yield running
        finally:
            running.stop()


def user_turns(cluster: Cluster, sender: str) -> List[str]:
    response = requests.get(f"{cluster.url}/conversations/{sender}/tracker",
                            params={"token": cluster.token, "include_events": "ALL"}, timeout=30)
    response.raise_for_status()
    return [event["text"] for event in response.json()["events"] if event["event"] == "user"]


def active_bookings(cluster: Cluster, phone: str) -> List[str]:
    engine = create_engine(cluster.database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(
                "SELECT b.reference FROM bookings b JOIN customers c ON c.id = b.customer_id "
                "WHERE c.phone = :phone AND b.status = 'active'"), {"phone": phone}).scalars())
    finally:
        engine.dispose()


def test_one_conversation_across_both_servers(cluster):
    client = ProxyClient(cluster.url, cluster.workdir)
    customer = PhoneCustomer(client, phone="13800138011")
    reference = book_tuesday_signing(customer, customer.phone)
    assert set(client.upstreams) == set(cluster.rasa_upstreams)
    assert user_turns(cluster, customer.sender) == client.said[customer.sender]
    assert active_bookings(cluster, customer.phone) == [reference]


def test_concurrent_conversations(cluster):
    client = ProxyClient(cluster.url, cluster.workdir)
    customers = [PhoneCustomer(client, phone=f"1380013802{i}") for i in range(3)]
    # Everyone takes the first slot offered: with the booking above, 4 tickets.
    assert 1 + len(customers) <= DEFAULT_CAPACITY
    with ThreadPoolExecutor(len(customers)) as pool:
        references = list(pool.map(lambda customer: book_tuesday_signing(customer, customer.phone), customers))
    assert set(client.upstreams) == set(cluster.rasa_upstreams)
    for customer, reference in zip(customers, references):
        assert user_turns(cluster, customer.sender) == client.said[customer.sender]
        assert active_bookings(cluster, customer.phone) == [reference]


def test_one_customer_typing_fast_on_both_servers_loses_nothing(cluster):
    """Messages of one conversation handled at once by two servers: the Redis lock serialises them."""
    client = ProxyClient(cluster.url, cluster.workdir)
    sender = f"fast-{uuid.uuid4().hex[:8]}"
    messages = [f"福田支行{day}号开门吗" for day in range(10, 16)]
    with ThreadPoolExecutor(len(messages)) as pool:
        list(pool.map(lambda message: client.say(sender, message), messages))
    assert set(client.upstreams) == set(cluster.rasa_upstreams)
    # A message queued behind the lock for longer than the channel's reply deadline
    # was answered with an apology; Rasa still handles it, a little later.
    deadline = time.monotonic() + 60
    while len(user_turns(cluster, sender)) < len(messages) and time.monotonic() < deadline:
        time.sleep(1)
    assert sorted(user_turns(cluster, sender)) == sorted(messages)
