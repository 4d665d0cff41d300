"""The WeChat official account channel: `/webhooks/wechat/webhook`.

WeChat POSTs each customer message as signed XML and waits five seconds for
a passive XML reply; after that it drops the connection and re-sends the
same message (up to three times). So Rasa gets `reply_timeout` seconds
(default 4): an answer ready by then is the passive reply, a later one is
queued in the outbox and pushed through the customer service API by this
channel's pusher, which also delivers agent replies and staff decisions.
Retries are recognised by MsgId in a store shared by all workers
(`bot.channels.dedup`) and never reach Rasa twice.

A photo sent while the customer has an open case is fetched through the
media API and kept with the case for the agent; an agent's photo goes back
as an image message, a PDF as a link (an official account cannot send files).

Plaintext, compatible and safe (AES) modes are supported; see docs/wechat.md
for the official account settings. Without a token every request is refused,
so a server with no WeChat account configured still starts.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.bank.db import transaction
from bot.bank.handoff import attachments, live
from bot.bank.messaging import outbox
from bot.bank.messaging.outbox import OutboxItem
from bot.bank.refusals import Refusal
from bot.channels import client_address, files, wechat_xml
from bot.channels.dedup import RetryStore, make_store
from bot.channels.delivery import attach_delivery
from bot.channels.guard import apology_text, guarded
from bot.channels.wechat_api import DEFAULT_API_BASE, WeChatApi, WeChatApiError
from bot.channels.wechat_crypto import CryptoError, WeChatCipher, signature, signature_matches
from bot.channels.wechat_xml import BadXml
from bot.clock import now
from bot.settings import settings
from bot.wording import text_of

logger = logging.getLogger(__name__)
GUARD_DEADLINE = 30.0

CHANNEL = "wechat"
MAX_AGE = 300  # seconds either side of our clock; older signed requests are replays
MESSAGE_TTL = 600  # WeChat's retries end within ~20 s; keep ids well past that
BUTTONS_TTL = 3600  # as long as a Rasa session lasts
RETRY_POLL = 0.2
DEFAULT_REPLY_TIMEOUT = 4.0  # WeChat waits 5 s for a passive reply
PHOTO_NAME = "微信图片"
# "Typing" lasts 15 s and may not be sent again meanwhile, and only within 30 s of the customer's message.
TYPING_LASTS, TYPING_WINDOW = timedelta(seconds=15), timedelta(seconds=30)
# Fields that become store keys (at most 200 characters) and Rasa sender ids;
# WeChat's are 10-30 characters.
IDENTIFIERS = ("ToUserName", "FromUserName", "CreateTime", "MsgId")
MAX_ID_LENGTH = 48

# Custom menu CLICK keys → the intent the button stands for (bot/nlu/contract.py).
MENU_INTENTS = {
    "MENU_BOOKING": "/book_appointment",
    "MENU_MY_BOOKING": "/check_appointment",
    "MENU_HOURS": "/ask_opening_hours",
    "MENU_DEFERRAL": "/request_deferral",
    "MENU_HUMAN": "/request_human",
}
UNSUPPORTED_REPLY = text_of("utter_wechat_unsupported")
VOICE_UNHEARD = text_of("utter_wechat_voice_unheard")
UNKNOWN_MENU = text_of("utter_wechat_unknown_menu")

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def welcome_text() -> str:
    """What a new follower reads first: who we are and what we can do."""
    return text_of("utter_wechat_welcome")


class Refused(Exception):
    """A request we will not process; `status` is the HTTP answer, the message is for the log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class WeChatConfig:
    """One official account's settings from credentials.yml (`${WECHAT_*}` values, bot/settings.py)."""

    token: str
    app_id: str
    app_secret: str
    encoding_aes_key: str
    api_base: str
    reply_timeout: float

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any]) -> "WeChatConfig":
        def value(key: str) -> str:
            return str(credentials.get(key) or "").strip()

        timeout = credentials.get("reply_timeout")
        return cls(token=value("token"), app_id=value("app_id"), app_secret=value("app_secret"),
                   encoding_aes_key=value("encoding_aes_key"),
                   api_base=value("api_base") or DEFAULT_API_BASE,
                   reply_timeout=DEFAULT_REPLY_TIMEOUT if timeout in (None, "") else float(timeout))


@dataclass(frozen=True)
class Inbound:
    """One authenticated callback, decrypted; `sealed` says the reply must be encrypted too."""

    fields: Dict[str, str]
    sealed: bool

    @property
    def openid(self) -> str:
        return self.fields["FromUserName"]

    @property
    def account(self) -> str:
        return self.fields["ToUserName"]

    @property
    def kind(self) -> str:
        return self.fields["MsgType"].lower()

    @property
    def key(self) -> str:
        """What a retry repeats: MsgId for messages; sender, time and the event itself for events.

        Two menu clicks within one second share sender and CreateTime, so
        the event and its key are part of the identity too.
        """
        msg_id = self.fields.get("MsgId")
        if msg_id:
            return f"wechat:msg:{self.account}:{msg_id}"
        event = f"{self.fields.get('Event', '')}:{self.fields.get('EventKey', '')}".encode("utf-8")
        digest = hashlib.sha1(event).hexdigest()[:12]  # EventKey may be 128 bytes; keys stay short
        return f"wechat:event:{self.account}:{self.openid}:{self.fields['CreateTime']}:{digest}"


def buttons_key(openid: str) -> str:
    return f"wechat:buttons:{openid}"


async def remember_buttons(store: RetryStore, openid: str, buttons: List[Dict[str, Any]]) -> None:
    """Keep the payloads of the numbered buttons just shown, for a bare-number answer."""
    await store.put(buttons_key(openid), {"payloads": [button["payload"] for button in buttons]}, BUTTONS_TTL)


def chosen_number(text: str, choices: int) -> Optional[int]:
    """1..choices when `text` is just a number (full-width digits too), else None."""
    number = unicodedata.normalize("NFKC", text).strip().rstrip(".。、")
    return int(number) if number.isdigit() and 1 <= int(number) <= choices else None


def _bot_messages(messages: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Rasa's collected messages without the recipient, as the outbox stores them."""
    keep = ("text", "buttons", "custom", "image", "attachment")
    return [{key: message[key] for key in keep if key in message} for message in messages]


def file_of(message: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The file (bot/bank/handoff/attachments.py) an outbox message carries, if any."""
    file = (message.get("metadata") or {}).get("file")
    return file if isinstance(file, dict) else None


def queue_late_reply(openid: str, messages: List[Dict[str, Any]]) -> None:
    """Hand an answer that missed the passive window to the outbox (already in the tracker)."""
    with transaction() as session:
        outbox.queue(session, CHANNEL, openid, "late_reply", messages, at=now(), record=False)


class WeChatPusher:
    """Sends outbox items as customer service text messages, or as template messages,
    and shows the customer that the agent is typing where WeChat allows it."""

    typing_every = TYPING_LASTS

    def __init__(self, api: WeChatApi, store: RetryStore) -> None:
        self.api = api
        self.store = store

    async def show_typing(self, shown: live.TypingShown) -> None:
        """WeChat refuses "typing" more than 30 s after the customer's last message: not even asked then."""
        if shown.customer_wrote_at is not None and now() - shown.customer_wrote_at <= TYPING_WINDOW:
            await self.api.typing(shown.conversation_id)

    async def push(self, item: OutboxItem) -> None:
        """Each message as text (buttons numbered), or the item's template message;
        raises so the outbox retries a failure."""
        if item.template:
            await self.api.send_template(item.recipient_id, item.template["id"], item.template["data"])
            return
        for message in item.messages:   # an agent's file is one call of its own (a retry repeats nothing else)
            file = file_of(message)
            if file is not None:
                await self._send_file(item.recipient_id, message.get("text") or "", file)
        parts, buttons = wechat_xml.render([message for message in item.messages if file_of(message) is None])
        for part in parts:
            for piece in wechat_xml.split_bytes(part):
                await self.api.send_text(item.recipient_id, piece)
        if buttons:
            await remember_buttons(self.store, item.recipient_id, buttons)

    async def _send_file(self, openid: str, said: str, file: Dict[str, Any]) -> None:
        """An agent's photo as an image message; a PDF (which an official account cannot send)
        as the agent's words with a link to it on the Rasa servers (HELPLINE_PUBLIC_URL)."""
        if str(file.get("type", "")).startswith("image/"):
            found = await asyncio.to_thread(files.stored, str(file["token"]))
            await self.api.send_image(openid, await self.api.upload_image(found.content, found.name, found.content_type))
            return
        public = settings().public_url.rstrip("/")
        if not public:   # retried, then parked: the notification goes by SMS
            raise RuntimeError("HELPLINE_PUBLIC_URL is not set: no link to send the PDF with")
        await self.api.send_text(openid, f"{said}\n{public}/webhooks/{CHANNEL}/files/{file['token']}")


class WeChatInput(InputChannel):
    """Rasa input channel for a WeChat official account (公众号)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WeChatInput":
        return cls(WeChatConfig.from_credentials(credentials or {}))

    def __init__(self, config: WeChatConfig) -> None:
        if config.encoding_aes_key and not config.app_id:
            raise ValueError("WeChat safe mode (encoding_aes_key) also needs app_id")
        self.config = config
        self.cipher = WeChatCipher(config.encoding_aes_key, config.app_id) if config.encoding_aes_key else None
        self.store = make_store()
        self.api: Optional[WeChatApi] = None   # with app_id and app_secret (`_attach_pusher`)
        self._background: Set[asyncio.Task] = set()

    # --- authentication ----------------------------------------------------------

    def _check_fresh(self, request: Request) -> None:
        stamp = request.args.get("timestamp", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > MAX_AGE:
            raise Refused(403, f"timestamp {stamp[:20]!r} is not within {MAX_AGE} s (replay?)")

    def _check_signature(self, request: Request) -> None:
        args = request.args
        if not signature_matches(args.get("signature", ""), self.config.token,
                                 args.get("timestamp", ""), args.get("nonce", "")):
            raise Refused(403, "signature does not match our token")

    def _unseal(self, request: Request, encrypted: str) -> str:
        """Check msg_signature over the ciphertext, then decrypt it for our app id."""
        args = request.args
        if self.cipher is None:
            raise Refused(403, "encrypted request but no encoding_aes_key is configured")
        if not signature_matches(args.get("msg_signature", ""), self.config.token,
                                 args.get("timestamp", ""), args.get("nonce", ""), encrypted):
            raise Refused(403, "msg_signature does not match our token")
        try:
            return self.cipher.decrypt(encrypted)
        except CryptoError as error:
            raise Refused(403, f"cannot decrypt: {error}") from error

    def _authenticated(self, request: Request) -> Inbound:
        """The callback's fields once its signature, age and XML have passed."""
        if not self.config.token:
            raise Refused(403, "no token configured")
        self._check_fresh(request)
        self._check_signature(request)  # sent in every mode; safe mode adds msg_signature over the body
        sealed = request.args.get("encrypt_type", "raw") == "aes"
        try:
            fields = wechat_xml.parse(request.body)
            if sealed:
                fields = wechat_xml.parse(self._unseal(request, fields.get("Encrypt", "")).encode("utf-8"))
        except BadXml as error:
            raise Refused(400, f"bad XML: {error}") from error
        missing = [name for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType") if not fields.get(name)]
        if missing:
            raise Refused(400, f"message without {', '.join(missing)}")
        if any(len(fields.get(name, "")) > MAX_ID_LENGTH for name in IDENTIFIERS):
            raise Refused(400, "identifier longer than WeChat ever sends")
        return Inbound(fields, sealed)

    def _verified_echo(self, request: Request) -> str:
        """The GET handshake: echostr back (decrypted when WeChat sent msg_signature)."""
        if not self.config.token:
            raise Refused(403, "no token configured")
        self._check_fresh(request)
        echo = request.args.get("echostr", "")
        if "msg_signature" in request.args:
            return self._unseal(request, echo)
        self._check_signature(request)
        return echo

    # --- replies ---------------------------------------------------------------------

    def _reply(self, inbound: Inbound, text: str) -> HTTPResponse:
        """`success` (nothing to say now) or a passive text reply, encrypted if the request was."""
        if not text:
            return response.text("success")
        xml = wechat_xml.text_reply(inbound.openid, inbound.account, text)
        if inbound.sealed:
            encrypted = self.cipher.encrypt(xml)
            stamp, nonce = str(int(time.time())), str(secrets.randbelow(10 ** 10))
            xml = wechat_xml.encrypted_reply(encrypted, signature(self.config.token, stamp, nonce, encrypted),
                                             stamp, nonce)
        return response.text(xml, content_type="application/xml; charset=utf-8")

    async def _retried(self, key: str, entry: Dict[str, Any]) -> str:
        """A retry's answer: the first delivery's passive reply once ready, else nothing."""
        deadline = time.monotonic() + self.config.reply_timeout
        while entry.get("state") == "processing" and time.monotonic() < deadline:
            await asyncio.sleep(RETRY_POLL)
            entry = await self.store.get(key) or {}
        return entry.get("text", "") if entry.get("state") == "replied" else ""

    # --- understanding a message -----------------------------------------------------

    async def _with_buttons(self, openid: str, text: str) -> str:
        """A bare number picks from the buttons last shown; any message uses them up."""
        remembered = await self.store.get(buttons_key(openid))
        if not remembered:
            return text
        await self.store.forget(buttons_key(openid))
        payloads = remembered.get("payloads", [])
        number = chosen_number(text, len(payloads))
        return payloads[number - 1] if number else text

    async def _answer(self, inbound: Inbound, on_new_message: OnNewMessage) -> Optional[str]:
        """The passive reply ("" for none), or None when Rasa's answer will be pushed later."""
        kind, fields = inbound.kind, inbound.fields
        if kind == "text":
            return await self._ask_rasa(inbound, await self._with_buttons(inbound.openid, fields.get("Content", "")),
                                        on_new_message)
        if kind == "voice":
            heard = fields.get("Recognition", "")
            return await self._ask_rasa(inbound, heard, on_new_message) if heard else VOICE_UNHEARD
        if kind == "event":
            return await self._on_event(inbound, on_new_message)
        if kind == "image" and self.api is not None:
            return await self._on_photo(inbound, on_new_message)
        return UNSUPPORTED_REPLY

    async def _on_photo(self, inbound: Inbound, on_new_message: OnNewMessage) -> Optional[str]:
        """A photo (of a scam SMS, a statement) for the agent of the customer's open case: fetched
        through the media API, kept with the case, and passed to Rasa as the customer's message.
        Without an open case (or past its quota) the customer is told why, before any download."""
        try:
            await asyncio.to_thread(files.check_receiving, inbound.openid)
            content = await self.api.media(inbound.fields.get("MediaId", ""))
            sent = await asyncio.to_thread(files.keep, inbound.openid, content, PHOTO_NAME)
        except Refusal as error:
            return attachments.customer_refusal(error)
        except (WeChatApiError, aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            logger.warning("could not fetch a photo from WeChat: %r", error)
            return apology_text()
        return await self._ask_rasa(inbound, attachments.label(sent.name), on_new_message, {"file": sent.as_metadata()})

    async def _on_event(self, inbound: Inbound, on_new_message: OnNewMessage) -> Optional[str]:
        """Welcome new followers, run menu clicks as intents; other events need no reply."""
        event = inbound.fields.get("Event", "").lower()
        if event == "subscribe":
            return welcome_text()
        if event == "click":
            intent = MENU_INTENTS.get(inbound.fields.get("EventKey", ""))
            return await self._ask_rasa(inbound, intent, on_new_message) if intent else UNKNOWN_MENU
        return ""

    # --- Rasa and the 5-second window ---------------------------------------------

    async def _run_rasa(self, message: UserMessage, on_new_message: OnNewMessage) -> List[Dict[str, Any]]:
        """Rasa's messages for one user message; an apology if Rasa failed."""
        try:
            await on_new_message(message)
        except Exception:
            logger.exception("Rasa failed on WeChat message %s", message.message_id)
            return [{"text": apology_text()}]
        return _bot_messages(message.output_channel.messages)

    async def _ask_rasa(self, inbound: Inbound, text: str, on_new_message: OnNewMessage,
                        metadata: Optional[Dict[str, Any]] = None) -> Optional[str]:
        """Rasa's answer as passive text if ready within reply_timeout; else None and push it later."""
        message = UserMessage(text, CollectingOutputChannel(), sender_id=inbound.openid, input_channel=CHANNEL,
                              message_id=inbound.fields.get("MsgId"),
                              metadata={"wechat": {"msg_type": inbound.kind, "account": inbound.account},
                                        **(metadata or {})})
        task = asyncio.ensure_future(self._run_rasa(message, on_new_message))
        try:
            messages = await asyncio.wait_for(asyncio.shield(task), self.config.reply_timeout)
        except asyncio.TimeoutError:
            self._push_when_done(task, inbound.openid)
            return None
        except asyncio.CancelledError:  # WeChat hung up before our deadline: still deliver the answer
            self._push_when_done(task, inbound.openid)
            raise
        return await self._passive_text(inbound.openid, messages)

    async def _passive_text(self, openid: str, messages: List[Dict[str, Any]]) -> str:
        """One text of at most 2048 bytes; the rest is pushed through the outbox."""
        parts, buttons = wechat_xml.render(messages)
        if buttons:
            await remember_buttons(self.store, openid, buttons)
        first, rest = wechat_xml.pack(parts)
        if rest:
            await asyncio.to_thread(queue_late_reply, openid, [{"text": piece} for piece in rest])
        return first

    def _push_when_done(self, task: "asyncio.Future[List[Dict[str, Any]]]", openid: str) -> None:
        """Queue a slow answer for the pusher once Rasa has it; keep the task alive meanwhile."""

        async def deliver() -> None:
            messages = await task
            if messages:
                await asyncio.to_thread(queue_late_reply, openid, messages)

        background = asyncio.ensure_future(deliver())
        self._background.add(background)
        background.add_done_callback(self._background.discard)

    async def _receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        inbound = self._authenticated(request)
        earlier = await self.store.add(inbound.key, {"state": "processing"}, MESSAGE_TTL)
        if earlier is not None:
            logger.info("WeChat retry of %s: not sent to Rasa again", inbound.key)
            return self._reply(inbound, await self._retried(inbound.key, earlier))
        try:
            text = await self._answer(inbound, on_new_message)
        except Exception:  # nothing was answered: let WeChat's retry try again
            await self.store.forget(inbound.key)
            raise
        outcome = {"state": "deferred"} if text is None else {"state": "replied", "text": text}
        await self.store.put(inbound.key, outcome, MESSAGE_TTL)
        return self._reply(inbound, text or "")

    # --- wiring -------------------------------------------------------------------------

    def _log_configuration(self) -> None:
        """Say once, at start-up, what this server will not do and why."""
        if not self.config.token:
            logger.warning("WeChat channel %s: no token (credentials.yml or WECHAT_TOKEN), so every request "
                           "to /webhooks/%s/webhook is refused with 403", self.name(), self.name())
        if not (self.config.app_id and self.config.app_secret):
            logger.warning("WeChat channel %s: no app_id/app_secret (WECHAT_APP_ID, WECHAT_APP_SECRET), so "
                           "late answers and agent replies stay in the outbox undelivered", self.name())
        elif not settings().public_url:
            logger.warning("WeChat channel %s: HELPLINE_PUBLIC_URL is not set, so a PDF an agent sends cannot be "
                           "linked and goes by SMS notice instead", self.name())

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """GET /webhook is WeChat's server check; POST /webhook carries the messages."""
        self._log_configuration()
        webhook = Blueprint(f"{self.name()}_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            try:
                return response.text(self._verified_echo(request))
            except Refused as refusal:
                return self._refuse(request, refusal)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                # The guard brings the rate limit, metrics and an apology when Rasa
                # answers nothing; its deadline is long, because the 5-second rule
                # (passive reply, else push later) is `_ask_rasa`'s job.
                handle = guarded(on_new_message, request.app.ctx.agent, deadline=GUARD_DEADLINE,
                                 address=client_address.bind(request))
                return await self._receive(request, handle)
            except Refused as refusal:
                return self._refuse(request, refusal)

        files.add_files_route(webhook)
        if self.config.app_id and self.config.app_secret:
            self._attach_pusher(webhook)
        return webhook

    def _refuse(self, request: Request, refusal: Refused) -> HTTPResponse:
        """Answer 403/400 with no detail; log why, unless start-up already said (no token)."""
        if self.config.token:
            logger.warning("WeChat %s from %s refused (%s): %s", request.method, client_address.of_request(request),
                           refusal.status, refusal)
        return response.text("refused", status=refusal.status)

    def _attach_pusher(self, webhook: Blueprint) -> None:
        """Deliver this channel's outbox rows through one API client, closed when the server stops."""
        api = self.api = WeChatApi(self.config.app_id, self.config.app_secret, self.config.api_base)
        attach_delivery(webhook, CHANNEL, lambda _app: WeChatPusher(api, self.store))

        @webhook.listener("before_server_stop")
        async def _close(_app: Sanic, _loop: Any) -> None:
            await api.close()
