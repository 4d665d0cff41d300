"""Per-sender rate limiting: a token bucket in front of Rasa.

One sender (a script, a stuck client, someone holding down Enter) must not
be able to keep the NLU and the action server busy for everyone else. Each
sender has a bucket of `burst` tokens that refills at `per_minute` tokens a
minute; a message takes one token, and with none left it is turned away
before it reaches Rasa. A person typing never notices: 8 messages at once,
then one every 3 seconds, with the defaults.

Settings: `HELPLINE_RATE_PER_MINUTE` (default 20) and `HELPLINE_RATE_BURST`
(default 8). A second set of buckets counts per client address
(`HELPLINE_ADDRESS_RATE_PER_MINUTE`, 300, and `HELPLINE_ADDRESS_RATE_BURST`,
60: generous, because many customers can share one NAT address), so a
script inventing a new sender id for every message is held back too; behind
HAProxy the address is the one it forwarded (bot/channels/client_address.py). The buckets live in this process; with `REDIS_URL` they live in
Redis, so every Rasa server behind a load balancer counts the same sender
together. If Redis cannot be reached, messages are let through: a broken
limiter must not silence the helpline.
"""
from __future__ import annotations

import logging
import time
from functools import lru_cache
from typing import Callable, Dict, Protocol, Tuple

from bot.settings import settings

logger = logging.getLogger(__name__)

# Forget buckets that have been full for a while once this many are held.
MAX_IDLE_BUCKETS = 10_000

# Refill, take one token, keep the bucket until it would be full again.
# Redis's clock is used so that servers with skewed clocks agree.
_REDIS_BUCKET = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or burst
local stamp = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return allowed
"""


class RateLimiter(Protocol):
    async def allow(self, key: str) -> bool:
        """Take a token from `key`'s bucket; False when it is empty."""


class LocalBuckets:
    """Buckets in this process's memory."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self.buckets: Dict[str, Tuple[float, float]] = {}

    async def allow(self, key: str) -> bool:
        now = self.clock()
        tokens, stamp = self.buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        allowed = tokens >= 1
        self.buckets[key] = (tokens - 1 if allowed else tokens, now)
        if len(self.buckets) > MAX_IDLE_BUCKETS:
            self._forget_full(now)
        return allowed

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled completely: they start full anyway."""
        self.buckets = {key: (tokens, stamp) for key, (tokens, stamp) in self.buckets.items()
                        if tokens + (now - stamp) * self.rate < self.burst}


class RedisBuckets:
    """Buckets in Redis, one hash per sender, shared by all Rasa servers."""

    def __init__(self, url: str, per_minute: float, burst: int, prefix: str = "helpline:rate:") -> None:
        from redis.asyncio import Redis  # imported only when Redis is configured

        self.redis = Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self.script = self.redis.register_script(_REDIS_BUCKET)
        self.rate = per_minute / 60.0
        self.burst = burst
        self.prefix = prefix

    async def allow(self, key: str) -> bool:
        try:
            return bool(await self.script(keys=[self.prefix + key], args=[self.rate, self.burst]))
        except Exception as error:  # Redis down or slow: serve the customer anyway
            logger.warning("rate limiter unavailable, message let through: %r", error)
            return True


def make_limiter(per_address: bool = False) -> RateLimiter:
    """The limiter the environment asks for: per sender, or per client address."""
    config = settings()
    per_minute, burst = ((config.address_rate_per_minute, config.address_rate_burst) if per_address
                         else (config.rate_per_minute, config.rate_burst))
    url = config.redis_url
    return RedisBuckets(url, float(per_minute), int(burst)) if url else LocalBuckets(float(per_minute), int(burst))


@lru_cache(maxsize=1)
def shared_limiter() -> RateLimiter:
    """One limiter for every channel of this server (one Redis pool)."""
    return make_limiter()


@lru_cache(maxsize=1)
def shared_address_limiter() -> RateLimiter:
    """One per-address limiter for every channel of this server."""
    return make_limiter(per_address=True)
