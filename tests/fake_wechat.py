"""A fake of WeChat: its API on loopback, and a client that signs callbacks like WeChat.

`FakeWeChatApi` serves `/cgi-bin/token` (each fetch a new token, the old one
invalid), `/cgi-bin/stable_token` (the current token while it lasts),
`/cgi-bin/message/custom/send` (text and image messages), `/cgi-bin/media/get`
(every MediaId is the same small photo), `/cgi-bin/media/upload` and
`/cgi-bin/message/template/send` from an aiohttp app in a background thread,
so a Rasa server under test can be pointed at it with `api_base`. It records
every token fetch, customer service message and template message, can answer
the next send with WeChat's "access token expired" error once, and refuses
customer service messages (45015) 48 hours after `customer_wrote`, by the
bank's clock (`HELPLINE_NOW`).

`WeChatClient` builds callbacks the way WeChat does (signature, timestamp,
nonce; AES envelope in safe mode) and posts them to the webhook.

`UnconfiguredWeChatInput` is the channel under another URL, for checking that
a server without a WeChat token refuses everything. The helpers at the end
read numbered choices and what Rasa's tracker heard.
"""
from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

import requests
from aiohttp import web

from bot.channels.wechat import WeChatInput
from bot.channels.wechat_crypto import WeChatCipher, signature
from bot.channels.wechat_xml import parse
from bot.clock import now
from tests.files import png
from tests.stack import Stack, free_port


class UnconfiguredWeChatInput(WeChatInput):
    """The WeChat channel at /webhooks/wechat_unconfigured/webhook; give it no token."""

    @classmethod
    def name(cls) -> str:
        return "wechat_unconfigured"


@dataclass
class SentText:
    touser: str
    content: str
    access_token: str


@dataclass
class SentTemplate:
    touser: str
    template_id: str
    data: Dict[str, Any]


SERVICE_WINDOW = timedelta(hours=48)


class FakeWeChatApi:
    """WeChat's token and customer service endpoints, recording what they were asked."""

    def __init__(self, app_id: str, app_secret: str, token_delay: float = 0.05) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.token_delay = token_delay  # long enough for concurrent callers to overlap
        self.port = free_port()
        self.token_fetches = 0
        self.sent: List[SentText] = []
        self.images: List[SentText] = []   # content: the media_id sent
        self.uploads: List[bytes] = []
        self.templates: List[SentTemplate] = []
        self.last_wrote: Dict[str, datetime] = {}
        self._counter = itertools.count(1)
        self._valid_token: Optional[str] = None
        self._expire_next = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._runner: Optional[web.AppRunner] = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _token(self, request: web.Request) -> web.Response:
        if (request.query.get("appid"), request.query.get("secret")) != (self.app_id, self.app_secret):
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        await asyncio.sleep(self.token_delay)
        with self._lock:
            self.token_fetches += 1
            self._valid_token = f"TOKEN-{next(self._counter)}"
            return web.json_response({"access_token": self._valid_token, "expires_in": 7200})

    async def _stable_token(self, request: web.Request) -> web.Response:
        """Normal mode: the token in force, a new one only when there is none or on force_refresh."""
        body = await request.json()
        if (body.get("appid"), body.get("secret")) != (self.app_id, self.app_secret):
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        await asyncio.sleep(self.token_delay)
        with self._lock:
            self.token_fetches += 1
            if self._valid_token is None or body.get("force_refresh"):
                self._valid_token = f"TOKEN-{next(self._counter)}"
            return web.json_response({"access_token": self._valid_token, "expires_in": 7200})

    def _refusal(self, token: str, body: Dict[str, Any]) -> Optional[web.Response]:
        """WeChat's answer to a send with an expired or stale token, or to a customer service
        message outside the 48-hour window (call with the lock held)."""
        if self._expire_next:
            self._expire_next -= 1
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        if token != self._valid_token:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        wrote = self.last_wrote.get(body["touser"])
        if "template_id" not in body and wrote is not None and now() - wrote > SERVICE_WINDOW:
            return web.json_response({"errcode": 45015, "errmsg": "response out of time limit"})
        return None

    async def _accept(self, request: web.Request, record) -> web.Response:
        """Check a send as WeChat would; `record(body, token)` keeps an accepted one."""
        token = request.query.get("access_token", "")
        body = await request.json()
        with self._lock:
            refusal = self._refusal(token, body)
            if refusal is not None:
                return refusal
            record(body, token)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _send(self, request: web.Request) -> web.Response:
        def record(body: Dict[str, Any], token: str) -> None:
            if body.get("msgtype") == "image":
                self.images.append(SentText(body["touser"], body["image"]["media_id"], token))
            else:
                self.sent.append(SentText(body["touser"], body["text"]["content"], token))

        return await self._accept(request, record)

    async def _media(self, request: web.Request) -> web.Response:
        """A customer's photo, by MediaId (any id: the same picture)."""
        if request.query.get("access_token") != self._valid_token:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        return web.Response(body=png(), content_type="image/jpeg")

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        with self._lock:
            self.uploads.append(form["media"].file.read())
            return web.json_response({"type": "image", "media_id": f"MEDIA-{len(self.uploads)}", "created_at": 1})

    def wait_for_images(self, openid: str, timeout: float = 60) -> List[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                sent = [image.content for image in self.images if image.touser == openid]
            if sent:
                return sent
            time.sleep(0.2)
        raise AssertionError(f"no image reached {openid}")

    async def _send_template(self, request: web.Request) -> web.Response:
        return await self._accept(request, lambda body, _token: self.templates.append(
            SentTemplate(body["touser"], body["template_id"], body["data"])))

    def customer_wrote(self, openid: str, at: datetime) -> None:
        """The customer's last message was at `at`: customer service messages work for 48 hours."""
        with self._lock:
            self.last_wrote[openid] = at

    def expire_next_send(self, times: int = 1) -> None:
        """Answer the next `times` sends with errcode 42001, as when a token has expired."""
        with self._lock:
            self._expire_next = times

    def texts_to(self, openid: str) -> List[str]:
        with self._lock:
            return [text.content for text in self.sent if text.touser == openid]

    def wait_for_texts(self, openid: str, count: int = 1, timeout: float = 60) -> List[str]:
        """Poll until `count` texts reached `openid`; fail with what arrived otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            texts = self.texts_to(openid)
            if len(texts) >= count:
                return texts
            time.sleep(0.2)
        raise AssertionError(f"{count} texts expected for {openid}, got {self.texts_to(openid)}")

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/stable_token", self._stable_token)
        app.router.add_post("/cgi-bin/message/custom/send", self._send)
        app.router.add_post("/cgi-bin/message/template/send", self._send_template)
        app.router.add_get("/cgi-bin/media/get", self._media)
        app.router.add_post("/cgi-bin/media/upload", self._upload)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def start(self) -> "FakeWeChatApi":
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)


@dataclass
class WeChatClient:
    """Posts callbacks to a webhook the way WeChat's servers do."""

    url: str
    token: str
    account: str = "gh_pengcheng"
    cipher: Optional[WeChatCipher] = None  # set for safe mode
    _ids: Any = field(default_factory=lambda: itertools.count(int(time.time() * 1000)))

    def signed_params(self, timestamp: Optional[int] = None, body: str = "") -> Dict[str, str]:
        """Query string of a callback; with `body`, the safe-mode msg_signature over it."""
        stamp, nonce = str(timestamp or int(time.time())), str(secrets.randbelow(10 ** 9))
        params = {"signature": signature(self.token, stamp, nonce), "timestamp": stamp, "nonce": nonce,
                  "openid": "o-fake"}
        if body:
            params.update(encrypt_type="aes", msg_signature=signature(self.token, stamp, nonce, body))
        return params

    def message_xml(self, openid: str, msg_type: str, msg_id: Optional[int] = None, **fields: str) -> str:
        """A callback body; text values go in CDATA, like WeChat's."""
        extra = "".join(f"<{name}><![CDATA[{value}]]></{name}>" for name, value in fields.items())
        msg = f"<MsgId>{msg_id}</MsgId>" if msg_id is not None else ""
        return (f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
                f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
                f"{extra}{msg}</xml>")

    def post_raw(self, body: str | bytes, params: Dict[str, str], timeout: float = 60) -> requests.Response:
        data = body.encode("utf-8") if isinstance(body, str) else body
        return requests.post(self.url, params=params, data=data, timeout=timeout,
                             headers={"Content-Type": "text/xml"})

    def post(self, xml: str, timeout: float = 60) -> requests.Response:
        """Post as WeChat would: plain, or wrapped in the AES envelope when `cipher` is set."""
        if self.cipher is None:
            return self.post_raw(xml, self.signed_params(), timeout)
        encrypted = self.cipher.encrypt(xml)
        envelope = (f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
                    f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
        return self.post_raw(envelope, self.signed_params(body=encrypted), timeout)

    def send(self, openid: str, msg_type: str = "text", msg_id: Optional[int] = None,
             timeout: float = 60, **fields: str) -> requests.Response:
        """One message with a fresh MsgId (events have none)."""
        if msg_id is None and msg_type != "event":
            msg_id = next(self._ids)
        return self.post(self.message_xml(openid, msg_type, msg_id, **fields), timeout)

    def reply_fields(self, response: requests.Response) -> Dict[str, str]:
        """The passive reply's fields, decrypted and signature-checked in safe mode."""
        response.raise_for_status()
        fields = parse(response.content)
        if self.cipher is None:
            return fields
        assert fields["MsgSignature"] == signature(self.token, fields["TimeStamp"], fields["Nonce"],
                                                   fields["Encrypt"])
        return parse(self.cipher.decrypt(fields["Encrypt"]).encode("utf-8"))

    def say(self, openid: str, text: str, timeout: float = 60) -> str:
        """Send a text message and return the passive reply's text ("" for `success`)."""
        response = self.send(openid, Content=text, timeout=timeout)
        if response.text == "success":
            return ""
        return self.reply_fields(response)["Content"]


def number_of(reply: str, title: str) -> str:
    """The number to answer to pick the button whose title contains `title`."""
    for line in reply.splitlines():
        match = re.match(r"(\d+)\. (.*)", line)
        if match and title in match.group(2):
            return match.group(1)
    raise AssertionError(f"no numbered choice {title!r} in {reply!r}")


def user_texts(stack: Stack, openid: str) -> List[str]:
    """What Rasa heard from `openid`: proof of whether a callback reached it."""
    return [event.get("text") for event in stack.tracker(openid)["events"] if event["event"] == "user"]


def bot_texts(stack: Stack, openid: str) -> List[str]:
    return [event["text"] for event in stack.tracker(openid)["events"] if event["event"] == "bot" and event.get("text")]
