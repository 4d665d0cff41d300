"""A short-lived key-value store shared by every Rasa worker process.

WeChat re-sends a callback it got no answer to (up to three times, about
five seconds apart), and the retry may reach another worker. Whoever adds a
message's key first processes it; everyone else reads what it left there
(its passive reply, or "deferred" when the answer goes out later). The same
store remembers the last numbered buttons shown to each customer, so a bare
"2" can be mapped back to the second button's payload.

Entries expire on their own. The bank database is the default store (no new
service to run); with `REDIS_URL` set, Redis is used instead.
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Dict, Optional, Protocol

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot.bank.db import transaction
from bot.bank.messaging.models import WeChatDedup
from bot.settings import settings


class RetryStore(Protocol):
    """What the WeChat channel needs from a store."""

    async def add(self, key: str, value: Dict[str, Any], ttl: float) -> Optional[Dict[str, Any]]:
        """Store `value` unless `key` is live; return the live value, or None if we stored ours."""

    async def put(self, key: str, value: Dict[str, Any], ttl: float) -> None:
        """Store `value` under `key`, replacing what was there."""

    async def get(self, key: str) -> Optional[Dict[str, Any]]:
        """The live value under `key`, if any."""

    async def forget(self, key: str) -> None:
        """Remove `key`."""


class DatabaseStore:
    """The store in the bank database (`wechat_dedup`, migration 0006)."""

    async def add(self, key: str, value: Dict[str, Any], ttl: float) -> Optional[Dict[str, Any]]:
        try:
            return await asyncio.to_thread(self._add, key, value, ttl)
        except IntegrityError:  # another worker inserted the same key a moment before us
            return await self.get(key) or {}

    @staticmethod
    def _add(key: str, value: Dict[str, Any], ttl: float) -> Optional[Dict[str, Any]]:
        """Insert unless live; expired entries (ours included) are swept first."""
        with transaction() as session:
            session.execute(delete(WeChatDedup).where(WeChatDedup.expires_at < time.time()))
            existing = session.get(WeChatDedup, key)
            if existing is not None:
                return existing.value
            session.add(WeChatDedup(key=key, value=value, expires_at=time.time() + ttl))
            session.flush()
        return None

    async def put(self, key: str, value: Dict[str, Any], ttl: float) -> None:
        await asyncio.to_thread(self._put, key, value, ttl)

    @staticmethod
    def _put(key: str, value: Dict[str, Any], ttl: float) -> None:
        with transaction() as session:
            session.merge(WeChatDedup(key=key, value=value, expires_at=time.time() + ttl))

    async def get(self, key: str) -> Optional[Dict[str, Any]]:
        return await asyncio.to_thread(self._get, key)

    @staticmethod
    def _get(key: str) -> Optional[Dict[str, Any]]:
        with transaction() as session:
            entry = session.get(WeChatDedup, key)
            return entry.value if entry is not None and entry.expires_at >= time.time() else None

    async def forget(self, key: str) -> None:
        await asyncio.to_thread(self._forget, key)

    @staticmethod
    def _forget(key: str) -> None:
        with transaction() as session:
            session.execute(delete(WeChatDedup).where(WeChatDedup.key == key))


class RedisStore:
    """The store in Redis: SET NX is the "first one wins", EX the expiry."""

    def __init__(self, url: str, prefix: str = "helpline:") -> None:
        from redis.asyncio import Redis  # imported only when Redis is configured

        self.redis = Redis.from_url(url)
        self.prefix = prefix

    async def add(self, key: str, value: Dict[str, Any], ttl: float) -> Optional[Dict[str, Any]]:
        if await self.redis.set(self.prefix + key, json.dumps(value), nx=True, px=int(ttl * 1000)):
            return None
        return await self.get(key) or {}

    async def put(self, key: str, value: Dict[str, Any], ttl: float) -> None:
        await self.redis.set(self.prefix + key, json.dumps(value), px=int(ttl * 1000))

    async def get(self, key: str) -> Optional[Dict[str, Any]]:
        raw = await self.redis.get(self.prefix + key)
        return json.loads(raw) if raw else None

    async def forget(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)


def make_store() -> RetryStore:
    """Redis when `REDIS_URL` is set, else the bank database."""
    url = settings().redis_url
    return RedisStore(url) if url else DatabaseStore()
