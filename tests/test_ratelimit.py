"""The per-sender token bucket: in memory, in Redis, and on the REST channel."""
from __future__ import annotations

import uuid

import pytest
import requests

from bot.channels.guard import SLOW_DOWN
from bot.ratelimit import LocalBuckets, RedisBuckets, make_limiter
from tests.redis_service import REDIS_URL, redis_available
from tests.stack import Stack


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_burst_is_allowed_then_one_message_per_refill():
    clock = FakeClock()
    buckets = LocalBuckets(per_minute=20, burst=8, clock=clock)
    assert [await buckets.allow("wechat:a") for _ in range(9)] == [True] * 8 + [False]
    clock.now += 2.9
    assert not await buckets.allow("wechat:a")
    clock.now += 0.2  # 3 s: one token back
    assert await buckets.allow("wechat:a")
    assert not await buckets.allow("wechat:a")


async def test_senders_have_buckets_of_their_own():
    buckets = LocalBuckets(per_minute=20, burst=2, clock=FakeClock())
    assert [await buckets.allow("rest:a") for _ in range(3)] == [True, True, False]
    assert await buckets.allow("rest:b")


async def test_a_bucket_never_holds_more_than_the_burst():
    clock = FakeClock()
    buckets = LocalBuckets(per_minute=60, burst=3, clock=clock)
    await buckets.allow("rest:a")
    clock.now += 3600
    assert [await buckets.allow("rest:a") for _ in range(4)] == [True, True, True, False]


async def test_full_buckets_are_forgotten_when_many_are_held(monkeypatch):
    monkeypatch.setattr("bot.ratelimit.MAX_IDLE_BUCKETS", 3)
    clock = FakeClock()
    buckets = LocalBuckets(per_minute=60, burst=2, clock=clock)
    for sender in "abc":
        await buckets.allow(f"rest:{sender}")
    clock.now += 10
    await buckets.allow("rest:d")
    assert set(buckets.buckets) == {"rest:d"}


def test_the_environment_chooses_the_limits_and_the_store(monkeypatch):
    monkeypatch.setenv("HELPLINE_RATE_PER_MINUTE", "30")
    monkeypatch.setenv("HELPLINE_RATE_BURST", "5")
    monkeypatch.delenv("REDIS_URL", raising=False)
    local = make_limiter()
    assert isinstance(local, LocalBuckets) and (local.rate, local.burst) == (0.5, 5)
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    assert isinstance(make_limiter(), RedisBuckets)


@pytest.mark.skipif(not redis_available(), reason="needs Redis on localhost:6379")
async def test_two_servers_share_one_bucket_in_redis():
    sender = f"rest:{uuid.uuid4().hex}"
    first, second = (RedisBuckets(REDIS_URL, per_minute=20, burst=4) for _ in range(2))
    try:
        allowed = [await server.allow(sender) for server in (first, second, first, second, first)]
        assert allowed == [True, True, True, True, False]
        assert 0 < await first.redis.pttl(first.prefix + sender) <= 13_000
    finally:
        await first.redis.delete(first.prefix + sender)
        await first.redis.close()
        await second.redis.close()


async def test_an_unreachable_redis_lets_messages_through():
    buckets = RedisBuckets("redis://127.0.0.1:1/0", per_minute=1, burst=1)
    assert all([await buckets.allow("rest:a") for _ in range(3)])


# --- over HTTP ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def limited_stack(tmp_path_factory):
    """A stack allowing a burst of 3, then one message a minute, per sender;
    buckets in Redis when it runs (the shared set-up), else in memory."""
    env = {"HELPLINE_RATE_PER_MINUTE": "1", "HELPLINE_RATE_BURST": "3"}
    if redis_available():
        env["REDIS_URL"] = REDIS_URL
    running = Stack(workdir=tmp_path_factory.mktemp("ratelimit"), env_extra=env).start()
    yield running
    running.stop()


@pytest.mark.server
def test_a_fast_sender_gets_429_and_a_polite_chinese_reply(limited_stack):
    sender = f"fast-{uuid.uuid4().hex[:8]}"
    url = f"{limited_stack.rasa_url}/webhooks/rest/webhook"
    statuses = [requests.post(url, json={"sender": sender, "message": f"你好{n}"}, timeout=30).status_code
                for n in range(3)]
    assert statuses == [200, 200, 200]
    refused = requests.post(url, json={"sender": sender, "message": "我想预约"}, timeout=30)
    assert refused.status_code == 429
    assert refused.json() == [{"recipient_id": sender, "text": SLOW_DOWN}]
    said = [event.get("text") for event in limited_stack.tracker(sender)["events"] if event["event"] == "user"]
    assert "我想预约" not in said and "你好2" in said
    assert limited_stack.say(f"other-{uuid.uuid4().hex[:8]}", "你好"), "other senders are not held up"
