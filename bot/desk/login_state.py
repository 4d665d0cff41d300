"""What every console process must agree on about logins: sessions ended by
logging out, and wrong passwords per username.

A session is a signed cookie (bot/desk/security.py), so a cookie copied
before its owner logged out would stay valid until it expires unless the
server remembers that its session ended. And a username locked after five
wrong passwords must be locked on every console process behind the proxy,
or a guesser only has to be sent to another one. So both facts live in one
store:

- without `REDIS_URL`, in this process's memory (one console process);
- with `REDIS_URL`, in Redis, shared by every console process. An ended
  session is kept as long as its cookie could still be valid, a username's
  failures as long as the lock-out window after the latest one; Redis
  expires both on its own.

If Redis cannot be reached, the console refuses to decide (503, "登录服务
暂时不可用") instead of admitting a cookie that may have been logged out or
a guess that may be over the limit.
"""
from __future__ import annotations

import time
from typing import Awaitable, Callable, Dict, Protocol, Tuple, TypeVar

from aiohttp import web

from bot.bank.refusals import Refusal

T = TypeVar("T")
UNAVAILABLE = "登录服务暂时不可用（共享会话存储连接不上），请稍后再试；如持续出现，请联系技术支持。"


class LoginState(Protocol):
    async def end_session(self, session_id: str, seconds: float) -> None:
        """Refuse the session `session_id` from now on; its cookie expires within `seconds`."""

    async def session_ended(self, session_id: str) -> bool:
        """True once the session was ended on any console process."""

    async def failures(self, username: str) -> int:
        """Wrong passwords for `username` still counted."""

    async def failed(self, username: str, seconds: float) -> None:
        """Count a wrong password; the count is forgotten `seconds` after the latest one."""

    async def succeeded(self, username: str) -> None:
        """Forget `username`'s wrong passwords."""

    async def close(self) -> None:
        """Release connections when the console stops."""


class LocalLoginState:
    """The store in this process's memory; entries are dropped once expired."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._ended: Dict[str, float] = {}                    # session id -> until
        self._failures: Dict[str, Tuple[int, float]] = {}     # username -> (count, until)

    def _sweep(self) -> None:
        now = self.clock()
        self._ended = {key: until for key, until in self._ended.items() if until > now}
        self._failures = {key: entry for key, entry in self._failures.items() if entry[1] > now}

    async def end_session(self, session_id: str, seconds: float) -> None:
        self._sweep()
        self._ended[session_id] = self.clock() + seconds

    async def session_ended(self, session_id: str) -> bool:
        return self._ended.get(session_id, 0.0) > self.clock()

    async def failures(self, username: str) -> int:
        count, until = self._failures.get(username, (0, 0.0))
        return count if until > self.clock() else 0

    async def failed(self, username: str, seconds: float) -> None:
        count = await self.failures(username)
        self._sweep()
        self._failures[username] = (count + 1, self.clock() + seconds)

    async def succeeded(self, username: str) -> None:
        self._failures.pop(username, None)

    async def close(self) -> None:
        return None


class RedisLoginState:
    """The store in Redis, shared by every console process."""

    def __init__(self, url: str, prefix: str = "helpline:desk:") -> None:
        from redis.asyncio import Redis  # imported only when Redis is configured

        self.redis = Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self.prefix = prefix

    async def _reach(self, command: Callable[[], Awaitable[T]]) -> T:
        from redis.exceptions import RedisError

        try:
            return await command()
        except (RedisError, OSError) as error:
            raise Refusal("unavailable", UNAVAILABLE) from error

    def _ended_key(self, session_id: str) -> str:
        return f"{self.prefix}ended:{session_id}"

    def _failures_key(self, username: str) -> str:
        return f"{self.prefix}failures:{username}"

    async def end_session(self, session_id: str, seconds: float) -> None:
        await self._reach(lambda: self.redis.set(self._ended_key(session_id), 1, ex=max(1, int(seconds) + 1)))

    async def session_ended(self, session_id: str) -> bool:
        return bool(await self._reach(lambda: self.redis.exists(self._ended_key(session_id))))

    async def failures(self, username: str) -> int:
        return int(await self._reach(lambda: self.redis.get(self._failures_key(username))) or 0)

    async def failed(self, username: str, seconds: float) -> None:
        key = self._failures_key(username)

        async def count() -> None:
            async with self.redis.pipeline(transaction=True) as pipe:
                await pipe.incr(key).expire(key, max(1, int(seconds))).execute()

        await self._reach(count)

    async def succeeded(self, username: str) -> None:
        await self._reach(lambda: self.redis.delete(self._failures_key(username)))

    async def close(self) -> None:
        # redis 5 renamed close() to aclose(); Rasa's environment has redis 4.
        await getattr(self.redis, "aclose", self.redis.close)()


LOGIN_STATE = web.AppKey("desk_login_state", LoginState)


def login_state(redis_url: str) -> LoginState:
    """The store the settings ask for: Redis when `REDIS_URL` is set, else this process."""
    return RedisLoginState(redis_url) if redis_url else LocalLoginState()
