"""The two WeChat API calls the bot makes: fetch an access token, send a text.

An access token is good for `expires_in` seconds (7200) and WeChat limits
how often one may be fetched, so it is fetched once and cached until five
minutes before it expires. The refresh happens under an asyncio.Lock: a burst
of sends (an agent's replies, a batch of decisions) waits for one fetch
instead of each making its own. When WeChat says the token expired or is
invalid (another server fetched a newer one, or WeChat rotated it), the token
is dropped, fetched again and the call retried once.

The token endpoint only answers from IP addresses on the official account's
whitelist; see docs/wechat.md.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Dict, Optional

import aiohttp

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.weixin.qq.com"
EXPIRED_TOKEN_ERRORS = (40001, 40014, 42001)  # invalid credential, invalid token, token expired
REFRESH_MARGIN = 300.0
TIMEOUT = aiohttp.ClientTimeout(total=10, connect=5)


class WeChatApiError(RuntimeError):
    """WeChat refused or failed a call; the outbox retries the message later."""

    def __init__(self, errcode: Any, errmsg: str) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode


class WeChatApi:
    """An official account's API client with a cached access token."""

    def __init__(self, app_id: str, app_secret: str, api_base: str = DEFAULT_API_BASE) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.api_base = api_base.rstrip("/")
        self._token: Optional[str] = None
        self._token_expires = 0.0
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

    async def _fetch_token(self) -> None:
        params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret}
        async with self._http().get(f"{self.api_base}/cgi-bin/token", params=params) as response:
            data = await response.json(content_type=None)
        if "access_token" not in data:
            raise WeChatApiError(data.get("errcode"), data.get("errmsg", "no access_token in answer"))
        self._token = data["access_token"]
        self._token_expires = time.monotonic() + float(data.get("expires_in", 7200)) - REFRESH_MARGIN
        logger.info("fetched a WeChat access token for %s", self.app_id)

    async def access_token(self) -> str:
        """The cached token, fetched first if missing or about to expire."""
        async with self._lock:
            if self._token is None or time.monotonic() >= self._token_expires:
                await self._fetch_token()
            return self._token

    async def _drop_token(self, stale: str) -> None:
        """Forget `stale` unless a concurrent caller has already replaced it."""
        async with self._lock:
            if self._token == stale:
                self._token = None

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
        if data.get("errcode", 0) != 0:
            raise WeChatApiError(data.get("errcode"), data.get("errmsg", ""))
        return data

    async def send_text(self, openid: str, content: str) -> None:
        """A customer service text message (allowed for 48 h after the customer last wrote)."""
        await self.call("/cgi-bin/message/custom/send",
                        {"touser": openid, "msgtype": "text", "text": {"content": content}})
