"""Two Rasa servers, two action servers and the console behind HAProxy, on PostgreSQL.

What scaling out must not break: a conversation whose turns land on
different Rasa servers keeps every turn once and in order (shared tracker
store, Redis lock store), and a booking is made once. What the proxy must
do (config/haproxy.cfg.j2): take a dead server out and put it back, keep a
widget's socket.io session on one server by cookie and pass websocket
upgrades, pass the client's address on (believed only from the proxy),
enforce size and time limits, serve the console, and terminate TLS (with a
certificate made here by openssl). The clock is pinned to Monday 28
September 2026 as in the other HTTP tests.
"""
from __future__ import annotations

import csv
import http.client
import io
import json
import socket
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
from bot.channels.guard import apology_text
from bot.ops.cluster import FAST_CLIENTS, Cluster
from tests.bankdb import postgres_available, scratch_postgres
from tests.conftest import PINNED_NOW
from tests.conversation import Customer
from tests.test_booking_http import book_tuesday_signing
from tests.tls import self_signed_certificate

pytestmark = [pytest.mark.server, pytest.mark.cluster]


@dataclass
class ProxyClient:
    """What `Customer` needs of a stack, talking to the proxy; notes what was said and who answered."""

    url: str
    workdir: Path
    token: str
    rasa_url: str      # one Rasa server, straight: reading a tracker must not shift the proxy's round-robin
    upstreams: List[str] = field(default_factory=list)
    said: Dict[str, List[str]] = field(default_factory=dict)

    def say(self, sender: str, message: str, timeout: float = 60) -> List[dict]:
        self.said.setdefault(sender, []).append(message)
        response = requests.post(f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": message},
                                 timeout=timeout)
        response.raise_for_status()
        self.upstreams.append(response.headers["X-Upstream"])
        return response.json()

    def tracker(self, sender: str) -> dict:
        """The conversation as the cluster's shared tracker store holds it, whichever server answered."""
        response = requests.get(f"{self.rasa_url}/conversations/{sender}/tracker",
                                params={"token": self.token, "include_events": "ALL"}, timeout=30)
        response.raise_for_status()
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
        env = {"HELPLINE_NOW": PINNED_NOW, "HELPLINE_DATA_DIR": str(workdir), **FAST_CLIENTS,
               "DESK_ADMIN_PASSWORD": "cluster-test-password"}
        running = Cluster(workdir=workdir, database_url=url, servers=2, env_extra=env,
                          lock_store_prefix=f"test{uuid.uuid4().hex[:8]}", console=True,
                          certificate=self_signed_certificate(workdir),
                          start_timeout=900).start()  # four TensorFlow start-ups at once on a shared machine
        try:
            # The proxy answers once one server is up; round-robin needs both (two health checks each).
            for server in running.rasa_upstreams:
                wait_for_status(running, "rasa", server, "UP")
            yield running
        finally:
            running.stop()


def proxy_client(cluster: Cluster) -> ProxyClient:
    return ProxyClient(cluster.url, cluster.workdir, cluster.token, f"http://127.0.0.1:{cluster.rasa_ports[0]}")


def user_turns(cluster: Cluster, sender: str) -> List[str]:
    tracker = proxy_client(cluster).tracker(sender)
    return [event["text"] for event in tracker["events"] if event["event"] == "user"]


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
    client = proxy_client(cluster)
    customer = PhoneCustomer(client, phone="13800138011")
    reference = book_tuesday_signing(customer, customer.phone)
    assert set(client.upstreams) == set(cluster.rasa_upstreams)
    assert user_turns(cluster, customer.sender) == client.said[customer.sender]
    assert active_bookings(cluster, customer.phone) == [reference]


def test_concurrent_conversations(cluster):
    client = proxy_client(cluster)
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
    client = proxy_client(cluster)
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


# --- health checks ---------------------------------------------------------------------------------

def server_states(cluster: Cluster, backend: str) -> Dict[str, Dict[str, str]]:
    """HAProxy's view of `backend`'s servers: status (UP/DOWN) and total sessions (stot), by name."""
    answer = requests.get(f"{cluster.stats_url};csv", timeout=10)
    answer.raise_for_status()
    rows = csv.DictReader(io.StringIO(answer.text.lstrip("# ")))
    return {row["svname"]: row for row in rows
            if row["pxname"] == backend and row["svname"] not in ("FRONTEND", "BACKEND")}


def wait_for_status(cluster: Cluster, backend: str, server: str, status: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while server_states(cluster, backend)[server]["status"] != status:
        assert time.monotonic() < deadline, f"{backend}/{server} never became {status}"
        time.sleep(0.5)


def sessions(cluster: Cluster, backend: str) -> Dict[str, int]:
    return {name: int(row["stot"]) for name, row in server_states(cluster, backend).items()}


def ask_opening_hours(client: ProxyClient, sender: str) -> str:
    """A turn that calls the action servers (opening hours come from the bank's calendar)."""
    return "".join(reply.get("text", "") for reply in client.say(sender, "福田支行明天几点开门"))


def test_a_killed_action_server_is_taken_out_and_put_back(cluster):
    client = proxy_client(cluster)
    cluster.kill("actions-1")
    wait_for_status(cluster, "actions", "actions1", "DOWN")
    before = sessions(cluster, "actions")
    for turn in range(4):
        assert apology_text() not in ask_opening_hours(client, f"down-{turn}-{uuid.uuid4().hex[:6]}")
    during = sessions(cluster, "actions")
    assert during["actions1"] == before["actions1"] and during["actions2"] > before["actions2"]

    cluster.restart("actions-1")
    wait_for_status(cluster, "actions", "actions1", "UP", timeout=120)
    for turn in range(4):
        assert apology_text() not in ask_opening_hours(client, f"back-{turn}-{uuid.uuid4().hex[:6]}")
    assert sessions(cluster, "actions")["actions1"] > during["actions1"]


# --- the widget: socket.io ------------------------------------------------------------------------

def test_socket_io_long_polling_stays_on_the_server_its_cookie_names(cluster):
    browser = requests.Session()
    opened = browser.get(f"{cluster.url}/socket.io/", params={"EIO": "4", "transport": "polling"}, timeout=10)
    opened.raise_for_status()
    pinned = opened.headers["X-Upstream"]
    assert browser.cookies["HELPLINE_SERVER"] == pinned
    sid = json.loads(opened.text[opened.text.index("{"):])["sid"]
    polling = {"EIO": "4", "transport": "polling", "sid": sid}
    # Connect, ask for a chat session, ask a question, read each answer: every request needs the
    # server holding the session.
    chat = ("40", "40"), ('42["session_request",{}]', '42["session_confirm"'), \
        ('42["user_uttered",{"message":"手机银行怎么开通"}]', '42["bot_uttered"')
    for packet, answer in chat:
        sent = browser.post(f"{cluster.url}/socket.io/", params=polling, data=packet.encode("utf-8"),
                            headers={"Content-Type": "text/plain;charset=UTF-8"}, timeout=10)
        assert sent.status_code == 200 and sent.headers["X-Upstream"] == pinned
        received, deadline = "", time.monotonic() + 60
        while answer not in received:  # a poll returns what is queued: the answer may come a poll later
            assert time.monotonic() < deadline, f"no {answer} in {received!r}"
            polled = browser.get(f"{cluster.url}/socket.io/", params=polling, timeout=30)
            assert polled.status_code == 200 and polled.headers["X-Upstream"] == pinned
            received += polled.content.decode("utf-8")
    # A browser without the cookie is spread round-robin like any new client.
    others = {requests.get(f"{cluster.url}/socket.io/", params={"EIO": "4", "transport": "polling"},
                           timeout=10).headers["X-Upstream"] for _ in range(4)}
    assert others == set(cluster.rasa_upstreams)


def test_a_websocket_upgrade_passes_through(cluster):
    with socket.create_connection(("127.0.0.1", cluster.port), timeout=10) as connection:
        connection.sendall((
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{cluster.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        answer = connection.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 101")
    assert "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in answer  # the server's answer to our key: a real handshake


# --- the client's address -------------------------------------------------------------------------

def refused_clients(cluster: Cluster) -> List[str]:
    """The client address of every "REST request refused" line the Rasa servers logged."""
    clients = []
    for name in ("rasa-1", "rasa-2"):
        for line in (cluster.workdir / f"{name}.log").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{") and "REST request refused" in line:
                clients.append(json.loads(line).get("client", ""))
    return clients


def post_from(source: str, port: int, body: bytes, headers: Dict[str, str]) -> int:
    """POST a webhook body from local address `source` (127.0.0.x are all this machine)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        connection.request("POST", "/webhooks/rest/webhook", body=body,
                           headers={"Content-Type": "application/json", **headers})
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_logs_name_the_client_the_proxy_forwarded_and_ignore_a_forged_header(cluster):
    forged = {"X-Forwarded-For": "203.0.113.9"}
    assert post_from("127.0.0.2", cluster.port, b"{}", forged) == 400
    # Straight to a Rasa server, not from the trusted proxy: the header is not believed.
    assert post_from("127.0.0.3", cluster.rasa_ports[0], b"{}", forged) == 400
    deadline = time.monotonic() + 10
    while not {"127.0.0.2", "127.0.0.3"} <= set(refused_clients(cluster)) and time.monotonic() < deadline:
        time.sleep(0.5)
    clients = refused_clients(cluster)
    assert {"127.0.0.2", "127.0.0.3"} <= set(clients)
    assert "203.0.113.9" not in clients


# --- limits, the console, TLS ---------------------------------------------------------------------

def test_oversized_and_unmeasured_bodies_are_refused_at_the_proxy(cluster):
    webhook = f"{cluster.url}/webhooks/rest/webhook"
    connection = http.client.HTTPConnection("127.0.0.1", cluster.port, timeout=30)
    try:  # refused on its headers: the megabyte is never sent
        connection.putrequest("POST", "/webhooks/rest/webhook")
        connection.putheader("Content-Length", str(1024 ** 2 + 1))
        connection.endheaders()
        too_big = connection.getresponse()
        assert too_big.status == 413 and too_big.getheader("X-Upstream") is None
    finally:
        connection.close()
    chunked = requests.post(webhook, data=iter([b'{"sender": "a", ', b'"message": "hi"}']), timeout=30)
    assert chunked.status_code == 411 and "X-Upstream" not in chunked.headers
    assert requests.get(f"{cluster.url}/metrics", timeout=10).status_code == 404


def test_a_client_too_slow_to_send_its_headers_is_cut_off(cluster):
    with socket.create_connection(("127.0.0.1", cluster.port), timeout=30) as connection:
        connection.sendall(b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        answer = connection.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 408")


def test_the_console_and_the_widget_page_are_served_through_the_proxy(cluster):
    login = requests.get(f"{cluster.url}/login", timeout=10)
    assert login.status_code == 200 and login.headers["X-Upstream"] == "console"
    page = requests.get(f"{cluster.url}/", timeout=10)
    assert page.status_code == 200 and cluster.url in page.text  # the widget connects through the proxy too


def test_tls_is_terminated_at_the_proxy(cluster):
    certificate = str(cluster.workdir / "certificate.pem")
    status = requests.get(f"{cluster.tls_url}/status", params={"token": cluster.token}, verify=certificate,
                          timeout=30)
    assert status.status_code == 200 and status.headers["X-Upstream"] in cluster.rasa_upstreams
    assert status.headers["Strict-Transport-Security"].startswith("max-age=")
    plain = requests.get(f"{cluster.url}/status", params={"token": cluster.token}, timeout=30)
    assert "Strict-Transport-Security" not in plain.headers
    replies = requests.post(f"{cluster.tls_url}/webhooks/rest/webhook", verify=certificate, timeout=60,
                            json={"sender": f"tls-{uuid.uuid4().hex[:8]}", "message": "手机银行怎么开通"}).json()
    assert replies and replies[0]["text"]
    with pytest.raises(requests.exceptions.SSLError):  # a client that checks certificates does not trust ours
        requests.get(f"{cluster.tls_url}/status", timeout=10)


def test_the_first_admin_is_announced_on_the_launchers_terminal(cluster):
    """`make run` shows the console's one-time first-admin announcement, not only its log."""
    assert any(line.strip() == "用户名: admin" for line in cluster.greeting)
