"""Whose address a request is: X-Forwarded-For believed only from a trusted proxy.

The cluster test (tests/test_cluster.py) shows the same through HAProxy and
straight to a Rasa server; here every case of the rule, and the rate limit
that counts per address.
"""
from __future__ import annotations

from ipaddress import ip_network

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels.client_address import client_address
from bot.channels.guard import Verdict, guard
from bot.ratelimit import LocalBuckets
from bot.settings import from_environment

HAPROXY = [ip_network("10.0.0.5/32")]
CHAIN = [ip_network("10.0.0.0/24"), ip_network("192.168.1.1/32")]


def test_from_the_trusted_proxy_the_forwarded_address_is_the_client():
    assert client_address("10.0.0.5", ["198.51.100.7"], HAPROXY) == "198.51.100.7"


def test_from_anyone_else_the_header_is_ignored():
    assert client_address("198.51.100.7", ["203.0.113.9"], HAPROXY) == "198.51.100.7"
    assert client_address("10.0.0.5", ["203.0.113.9"], []) == "10.0.0.5"


def test_what_the_client_wrote_left_of_the_proxies_entries_is_ignored():
    # The client sent "X-Forwarded-For: 203.0.113.9"; a cloud balancer and HAProxy appended theirs.
    headers = ["203.0.113.9, 198.51.100.7", "192.168.1.1"]
    assert client_address("10.0.0.5", headers, CHAIN) == "198.51.100.7"


def test_a_trusted_proxy_without_a_usable_header_is_taken_at_its_word():
    assert client_address("10.0.0.5", [], HAPROXY) == "10.0.0.5"
    assert client_address("10.0.0.5", ["not-an-address"], HAPROXY) == "10.0.0.5"
    assert client_address("10.0.0.5", ["2001:db8::1"], HAPROXY) == "2001:db8::1"


def test_the_trusted_proxies_are_addresses_or_networks_in_one_setting():
    config = from_environment({"HELPLINE_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8,fd00::/8"})
    assert [str(network) for network in config.trusted_proxies] == ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]
    assert from_environment({}).trusted_proxies == ()


async def test_one_address_sending_as_many_senders_is_held_back_another_address_is_not():
    said = []

    async def rasa(message: UserMessage) -> None:
        said.append(message.sender_id)
        await message.output_channel.send_response(message.sender_id, {"text": "您好"})

    senders = LocalBuckets(per_minute=60, burst=100)
    addresses = LocalBuckets(per_minute=60, burst=2)

    async def send(sender: str, address: str) -> Verdict:
        message = UserMessage("你好", CollectingOutputChannel(), sender, input_channel="rest")
        return await guard(rasa, message, limiter=senders, address=address, address_limiter=addresses)

    assert [await send(f"s{n}", "198.51.100.7") for n in range(3)] == [
        Verdict.ANSWERED, Verdict.ANSWERED, Verdict.LIMITED]
    assert await send("s9", "203.0.113.9") is Verdict.ANSWERED
    assert said == ["s0", "s1", "s9"]
