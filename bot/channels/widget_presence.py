"""Which widget sessions have a page open, across the Rasa servers of a cluster.

With one server, python-socketio's rooms say whether anybody has the
session's page open. With `REDIS_URL` another server may hold the socket,
and socket.io's Redis manager cannot list other servers' sockets, so every
server records its own in Redis: one sorted set per session, each member a
socket id scored with the last time its server saw it. A socket that
disconnects is removed at once; the sockets of a server that died stop
being refreshed and count as gone after `STALE_SECONDS`. Times are Redis's
own (`TIME`), so servers whose clocks differ still agree. A notification
for a session nobody has open then goes by SMS (bot/channels/widget.py)
instead of waiting in a history the customer may never reopen.
"""
from __future__ import annotations

import logging
from typing import Callable, Dict, Optional

import redis.asyncio as redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

PREFIX = "helpline:widget:open:"
REFRESH_SECONDS = 30
STALE_SECONDS = 3 * REFRESH_SECONDS
KEY_TTL_SECONDS = 24 * 3600      # a session nobody opened for a day leaves nothing behind


class RedisPresence:
    """Open widget pages per session, shared by every server on one Redis."""

    def __init__(self, url: str, prefix: str = PREFIX) -> None:
        self.redis = redis.Redis.from_url(url)
        self.prefix = prefix
        self.local: Dict[str, str] = {}      # this server's sockets: socket id -> session id

    def _key(self, session_id: str) -> str:
        return self.prefix + session_id

    async def _now(self) -> float:
        seconds, microseconds = await self.redis.time()
        return seconds + microseconds / 1e6

    async def _see(self, session_id: str, sid: str, at: Optional[float]) -> None:
        key = self._key(session_id)
        moment = await self._now() if at is None else at
        async with self.redis.pipeline(transaction=False) as pipe:
            await pipe.zadd(key, {sid: moment}).expire(key, KEY_TTL_SECONDS).execute()

    async def opened(self, session_id: str, sid: str, at: Optional[float] = None,
                     still_open: Callable[[], bool] = lambda: True) -> None:
        """A socket of this server joined the session's room. If it disconnected while
        joining, it is taken out again; if Redis did not answer, the next refresh adds it."""
        self.local[sid] = session_id
        try:
            await self._see(session_id, sid, at)
        except RedisError:
            logger.warning("widget presence: Redis did not answer; the next refresh records the page")
        if not still_open():
            await self.closed(sid)

    async def closed(self, sid: str) -> None:
        """A socket of this server disconnected."""
        session_id = self.local.pop(sid, None)
        if session_id:
            await self.redis.zrem(self._key(session_id), sid)

    async def refresh(self, connected: Callable[[str], bool] = lambda sid: True, at: Optional[float] = None) -> None:
        """Say again that this server's sockets are open (every REFRESH_SECONDS), in one round
        trip for all of them; forget those no longer connected, in case their disconnect was missed."""
        for sid in [sid for sid in self.local if not connected(sid)]:
            await self.closed(sid)
        if not self.local:
            return
        moment = await self._now() if at is None else at
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid, session_id in list(self.local.items()):
                pipe.zadd(self._key(session_id), {sid: moment}).expire(self._key(session_id), KEY_TTL_SECONDS)
            await pipe.execute()

    async def is_open(self, session_id: str, at: Optional[float] = None) -> bool:
        """Whether any server saw a socket of this session within STALE_SECONDS."""
        moment = await self._now() if at is None else at
        return await self.redis.zcount(self._key(session_id), moment - STALE_SECONDS, "+inf") > 0

    async def close(self) -> None:
        await self.redis.close()
