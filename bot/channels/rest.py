"""Rasa's REST channel, made safe to face the internet, plus a callback URL.

A REST client gets the bot's answers in the HTTP response, as with Rasa's
own `rest` channel (same name, same `/webhooks/rest/webhook` path, same
`{"sender", "message", "metadata"?}` body and `?stream=true`). Every message
passes the channel guard (bot/channels/guard.py): a customer always hears
something within about 5 seconds, an apology with the hotline if Rasa fails
or is slow. What the bot or an agent says *later* (a slow answer that came
after that apology, an agent's reply during a hand-off, a staff decision on
a deferral request) is POSTed to `callback_url`:

    POST <callback_url>
    X-Helpline-Signature: sha256=<hex HMAC-SHA256 of the body with callback_secret>
    {"recipient_id": "<sender>", "kind": "agent_message",
     "messages": [{"text": "...", "metadata": {"agent": "王客服"}}]}

`kind` says what it is: "late_reply" for a slow answer, "agent_message" and
so on (bot/bank/messaging/outbox.py). Any non-2xx answer or a timeout makes the message
be retried later. Without a callback URL, a slow answer stays in the
conversation's tracker only.

Requests Rasa's channel would fail on with a 500 (or pass on as user
"default") are refused with a 4xx and a message the client can show as is,
in the same shape as an answer (`[{"recipient_id", "text"}]`): 400 for a
body that is not a JSON object with a `sender` and a string `message`, 413
for a body over 128 KiB, 429 (nothing reaches Rasa) when the sender is over
the rate limit (with `?stream=true`, the same words come in the stream).
The client cannot choose another channel's name (Rasa's REST channel lets
the body set `input_channel`), so a REST sender can never be taken for a
WeChat or widget user.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from typing import Any, Dict, List, Optional, Text

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.bank.db import transaction
from bot.bank.messaging import outbox
from bot.bank.messaging.outbox import OutboxItem
from bot.channels import client_address
from bot.channels.delivery import attach_delivery
from bot.channels.guard import OnNewMessage, Verdict, guard, guarded
from bot.clock import now
from bot.wording import text_of

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Helpline-Signature"
TIMEOUT = aiohttp.ClientTimeout(total=10)
MAX_BODY_BYTES = 128 * 1024
MAX_SENDER = 128  # characters
UNREADABLE = text_of("utter_channel_unreadable")
TOO_LONG = text_of("utter_channel_too_long")


class Refused(Exception):
    """A request that does not reach Rasa: why (for the log), the status and what the customer reads."""

    def __init__(self, reason: str, status: int = 400, text: str = UNREADABLE, sender: str = "") -> None:
        super().__init__(reason)
        self.status, self.text, self.sender = status, text, sender


def read_request(request: Request) -> Dict[str, Any]:
    """The sender, text and metadata of a webhook POST, or Refused."""
    if len(request.body) > MAX_BODY_BYTES:
        raise Refused(f"body of {len(request.body)} bytes", 413, TOO_LONG)
    try:
        body = json.loads(request.body)
    except (ValueError, RecursionError) as error:  # not JSON or not UTF-8, raw control characters, absurd nesting
        raise Refused(f"unreadable body: {type(error).__name__}") from None
    if not isinstance(body, dict):
        raise Refused("body is not a JSON object")
    sender = body.get("sender")
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    if not isinstance(sender, str) or not sender.strip() or not sender.isprintable() or len(sender) > MAX_SENDER:
        raise Refused("no usable sender")
    text, metadata = body.get("message"), body.get("metadata")
    if not isinstance(text, str):
        raise Refused("message is not a string", sender=sender)
    if not (metadata is None or isinstance(metadata, dict)):
        raise Refused("metadata is not an object", sender=sender)
    if metadata is not None:   # `file` is the channels' own mark of a stored file (bot/channels/files.py)
        metadata = {key: value for key, value in metadata.items() if key != "file"}
    return {"sender": sender, "text": text, "metadata": metadata}


def queue_late_answer(sender: str, messages: List[Dict[str, Any]]) -> None:
    """An answer that came after the apology, for the callback URL (already in the tracker)."""
    keep = ("text", "buttons", "custom", "image", "attachment")
    shown = [{key: message[key] for key in keep if key in message} for message in messages]
    with transaction() as session:
        outbox.queue(session, "rest", sender, "late_reply", shown, at=now(), record=False)


def signature(secret: str, body: bytes) -> str:
    """The value of the signature header for `body`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class CallbackPusher:
    """Delivers outbox items by POSTing them to the client's callback URL."""

    def __init__(self, url: str, secret: str) -> None:
        self.url, self.secret = url, secret

    async def push(self, item: OutboxItem) -> None:
        body = json.dumps({"recipient_id": item.recipient_id, "kind": item.kind, "messages": item.messages},
                          ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, body)
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            async with session.post(self.url, data=body, headers=headers) as answer:
                answer.raise_for_status()


class CallbackRestInput(RestInput):
    """`rest` with pushes to `callback_url` (credentials or HELPLINE_REST_CALLBACK_URL)."""

    def __init__(self, callback_url: Optional[str] = None, callback_secret: str = "") -> None:
        self.callback_url = callback_url
        self.callback_secret = callback_secret

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "CallbackRestInput":
        credentials = credentials or {}
        return cls(credentials.get("callback_url") or None, credentials.get("callback_secret") or "")

    def _guarded(self, on_new_message: OnNewMessage, request: Request, address: str) -> OnNewMessage:
        """`on_new_message` behind the guard, late answers queued for the callback URL."""
        if not self.callback_url:
            return guarded(on_new_message, request.app.ctx.agent, address=address)

        async def handle(message: UserMessage) -> Verdict:
            async def push_later(messages: List[Dict[str, Any]]) -> None:
                await asyncio.to_thread(queue_late_answer, message.sender_id, messages)

            return await guard(on_new_message, message, agent=request.app.ctx.agent, on_late=push_later,
                               address=address)

        return handle

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            address = client_address.bind(request)
            try:
                incoming = read_request(request)
            except Refused as refusal:
                logger.info("REST request refused (%s): %s", refusal.status, refusal)
                return response.json([{"recipient_id": refusal.sender, "text": refusal.text}], status=refusal.status)
            handle = self._guarded(on_new_message, request, address)
            if bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(handle, incoming["text"], incoming["sender"], self.name(),
                                         incoming["metadata"]),
                    content_type="text/event-stream")
            collector = CollectingOutputChannel()
            verdict = await handle(UserMessage(incoming["text"], collector, incoming["sender"],
                                               input_channel=self.name(), metadata=incoming["metadata"]))
            return response.json(collector.messages, status=429 if verdict is Verdict.LIMITED else 200)

        if self.callback_url:
            url, secret = self.callback_url, self.callback_secret
            attach_delivery(webhook, self.name(), lambda _app: CallbackPusher(url, secret))
        return webhook
