"""The WeChat API calls the bot makes: fetch an access token, send a text or an image, fetch
and upload media, show "typing", send a template message.

An access token is good for `expires_in` seconds (7200) and WeChat limits
how often one may be fetched. It comes from `stable_token` (normal mode),
which hands every caller the same token while it is valid, so one server's
fetch never invalidates the token another server is using, as the classic
`/cgi-bin/token` does. It is cached until five minutes before it expires:
with `REDIS_URL` in Redis, shared by every server (`RedisTokenCache`), else
in the process (`LocalTokenCache`). The refresh happens under an
asyncio.Lock: a burst of sends (an agent's replies, a batch of decisions)
waits for one fetch instead of each making its own. When WeChat says the
token expired or is invalid, that token is dropped from the cache (only if
nobody has replaced it yet), fetched again and the call retried once.

A customer service message is refused 48 hours after the customer last
wrote (45015), or when they have unfollowed the account (43004): that is
`outbox.Unreachable`, so the notification moves on to a template message or
an SMS instead of retrying in vain.

The token endpoint only answers from IP addresses on the official account's
whitelist; see docs/wechat.md.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

import aiohttp

from bot.bank.messaging.outbox import Unreachable
from bot.settings import settings

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.weixin.qq.com"
EXPIRED_TOKEN_ERRORS = (40001, 40014, 42001)  # invalid credential, invalid token, token expired
OUT_OF_REACH_ERRORS = (45015, 43004)          # 48-hour window closed, customer unfollowed the account
REFRESH_MARGIN = 300.0
TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)


class WeChatApiError(RuntimeError):
    """WeChat refused or failed a call; the outbox retries the message later."""

    def __init__(self, errcode: Any, errmsg: str) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode


class WeChatUnreachable(WeChatApiError, Unreachable):
    """WeChat will not deliver this kind of message to this customer now."""


class LocalTokenCache:
    """The token in this process only (no Redis configured)."""

    def __init__(self) -> None:
        self._tokens: Dict[str, Tuple[str, float]] = {}

    async def get(self, app_id: str) -> Optional[str]:
        token, expires = self._tokens.get(app_id, (None, 0.0))
        return token if time.monotonic() < expires else None

    async def put(self, app_id: str, token: str, ttl: float) -> None:
        self._tokens[app_id] = (token, time.monotonic() + ttl)

    async def drop(self, app_id: str, stale: str) -> None:
        if self._tokens.get(app_id, (None, 0.0))[0] == stale:
            del self._tokens[app_id]

    async def close(self) -> None:
        return None


# Delete the key only while it still holds the stale token: a server that has
# already stored a fresh one keeps it.
_DROP_IF_SAME = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class RedisTokenCache:
    """The token in Redis, with its expiry, shared by every server of the account."""

    def __init__(self, url: str, prefix: str = "helpline:wechat-token:") -> None:
        from redis.asyncio import Redis  # imported only when Redis is configured

        self.redis, self.prefix = Redis.from_url(url), prefix

    async def get(self, app_id: str) -> Optional[str]:
        raw = await self.redis.get(self.prefix + app_id)
        return raw.decode("utf-8") if raw is not None else None

    async def put(self, app_id: str, token: str, ttl: float) -> None:
        await self.redis.set(self.prefix + app_id, token, px=max(int(ttl * 1000), 1))

    async def drop(self, app_id: str, stale: str) -> None:
        await self.redis.eval(_DROP_IF_SAME, 1, self.prefix + app_id, stale)

    async def close(self) -> None:
        await self.redis.close()


def token_cache() -> "LocalTokenCache | RedisTokenCache":
    """Redis when `REDIS_URL` is set (every server shares one token), else this process."""
    url = settings().redis_url
    return RedisTokenCache(url) if url else LocalTokenCache()


class WeChatApi:
    """An official account's API client with a cached, shared access token."""

    def __init__(self, app_id: str, app_secret: str, api_base: str = DEFAULT_API_BASE,
                 cache: "Optional[LocalTokenCache | RedisTokenCache]" = None) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.api_base = api_base.rstrip("/")
        self.cache = cache or token_cache()
        self._lock = asyncio.Lock()
        self._session: Optional[aiohttp.ClientSession] = None

    def _http(self) -> aiohttp.ClientSession:
        """One connection pool for the client's life, with timeouts on every call."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        await self.cache.close()

    async def _fetch_token(self) -> str:
        body = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret,
                "force_refresh": False}
        async with self._http().post(f"{self.api_base}/cgi-bin/stable_token", json=body) as response:
            data = await response.json(content_type=None)
        if "access_token" not in data:
            raise WeChatApiError(data.get("errcode"), data.get("errmsg", "no access_token in answer"))
        token = data["access_token"]
        await self.cache.put(self.app_id, token, float(data.get("expires_in", 7200)) - REFRESH_MARGIN)
        logger.info("fetched a WeChat access token for %s", self.app_id)
        return token

    async def access_token(self) -> str:
        """The cached token, fetched first if missing or about to expire."""
        async with self._lock:
            return await self.cache.get(self.app_id) or await self._fetch_token()

    async def _drop_token(self, stale: str) -> None:
        """Forget `stale` unless a concurrent caller (or another server) has already replaced it."""
        async with self._lock:
            await self.cache.drop(self.app_id, stale)

    async def _post(self, path: str, body: Dict[str, Any], token: str) -> Dict[str, Any]:
        """POST as raw UTF-8 JSON: WeChat shows \\u escapes literally instead of the characters."""
        url = f"{self.api_base}{path}"
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        async with self._http().post(url, params={"access_token": token}, data=data,
                                     headers={"Content-Type": "application/json; charset=utf-8"}) as response:
            return await response.json(content_type=None)

    async def call(self, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
        """POST `body` to an API path; refresh the token and retry once if WeChat says it expired."""
        token = await self.access_token()
        data = await self._post(path, body, token)
        if data.get("errcode") in EXPIRED_TOKEN_ERRORS:
            await self._drop_token(token)
            data = await self._post(path, body, await self.access_token())
        if data.get("errcode") in OUT_OF_REACH_ERRORS:
            raise WeChatUnreachable(data.get("errcode"), data.get("errmsg", ""))
        if data.get("errcode", 0) != 0:
            raise WeChatApiError(data.get("errcode"), data.get("errmsg", ""))
        return data

    async def send_text(self, openid: str, content: str) -> None:
        """A customer service text message (allowed for 48 h after the customer last wrote)."""
        await self.call("/cgi-bin/message/custom/send",
                        {"touser": openid, "msgtype": "text", "text": {"content": content}})

    async def send_image(self, openid: str, media_id: str) -> None:
        """A customer service image message, from a media_id `upload_image` gave."""
        await self.call("/cgi-bin/message/custom/send",
                        {"touser": openid, "msgtype": "image", "image": {"media_id": media_id}})

    async def _answered(self, fetch: Callable[[str], Awaitable[Tuple[Optional[bytes], Dict[str, Any]]]]) -> Any:
        """`fetch(token)` gives (bytes, {}) or (None, WeChat's JSON answer); refresh an expired
        token and retry once, as `call` does."""
        token = await self.access_token()
        content, data = await fetch(token)
        if content is None and data.get("errcode") in EXPIRED_TOKEN_ERRORS:
            await self._drop_token(token)
            content, data = await fetch(await self.access_token())
        if content is None and data.get("errcode", 0) != 0:
            raise WeChatApiError(data.get("errcode"), data.get("errmsg", ""))
        return content if content is not None else data

    async def media(self, media_id: str) -> bytes:
        """A file a customer sent (a photo), by its MediaId (WeChat keeps it 3 days)."""

        async def fetch(token: str) -> Tuple[Optional[bytes], Dict[str, Any]]:
            async with self._http().get(f"{self.api_base}/cgi-bin/media/get",
                                        params={"access_token": token, "media_id": media_id}) as response:
                body = await response.read()
                if response.status != 200:
                    return None, {"errcode": response.status, "errmsg": f"HTTP {response.status}"}
                if response.content_type in ("application/json", "text/plain"):   # an error, as JSON
                    return None, json.loads(body or b"{}")
                return body, {}

        return await self._answered(fetch)

    async def upload_image(self, content: bytes, name: str, content_type: str) -> str:
        """A temporary image for `send_image`; its media_id."""

        async def fetch(token: str) -> Tuple[Optional[bytes], Dict[str, Any]]:
            form = aiohttp.FormData()
            form.add_field("media", content, filename=name, content_type=content_type)
            async with self._http().post(f"{self.api_base}/cgi-bin/media/upload",
                                         params={"access_token": token, "type": "image"}, data=form) as response:
                return None, await response.json(content_type=None)

        return (await self._answered(fetch))["media_id"]

    async def typing(self, openid: str) -> None:
        """Show the customer "对方正在输入" for 15 s (only within 30 s of their last message)."""
        await self.call("/cgi-bin/message/custom/typing", {"touser": openid, "command": "Typing"})

    async def send_template(self, openid: str, template_id: str, data: Dict[str, Any]) -> None:
        """A template message: allowed at any time to a follower, with the fields the template defines."""
        await self.call("/cgi-bin/message/template/send",
                        {"touser": openid, "template_id": template_id, "data": data})
