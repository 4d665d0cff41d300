"""The website chat widget's channel: socket.io, built on Rasa's own.

Rasa's `SocketIOInput` is close but not enough for a bank's website:

* a conversation must survive a page reload, so the widget keeps its session
  id in localStorage, and on `session_request` the server joins the socket
  to a room named after it and sends the conversation so far (`history`);
* agents' replies and notices reach the customer later, through the outbox
  (`bot.channels.delivery`), so the server must be able to emit to that room
  at any time, from any Rasa server when `REDIS_URL` makes them a cluster;
  a notification for a customer who closed the page goes by SMS instead,
  and in a cluster which pages are open is kept in Redis
  (bot/channels/widget_presence.py);
* `sio.enter_room` became a coroutine in python-socketio 5.10 and Rasa calls
  it without awaiting, and Rasa emits on the default namespace whatever the
  configured one is;
* Rasa takes the session id of every message from the client, and accepts
  any string, including another socket's own id (its private room).
  Here a socket may only speak in the session it asked for, and a session id
  is 32 hex digits, which a socket id never is.

Messages pass the channel guard (bot/channels/guard.py) like every channel's:
rate limit, and an apology with the hotline if Rasa fails or is slow; a late
answer still reaches the room.

Typing, during a hand-off: the widget sends `typing` while the customer types
to an agent (at most every few seconds; the server keeps one per
TYPING_EVERY per socket) and gets `agent_typing` while the agent types
(bot/bank/handoff/live.py).

Files, during a hand-off: the widget sends a photo or PDF as an `attachment`
event ({name, data: bytes}); it is kept with the case
(bot/bank/handoff/attachments.py) and passed to Rasa as the customer's
message with the file in its metadata, and the acknowledgement carries the
file as stored or the refusal in the bank's words. A client's own metadata
may never carry `file`. The customer opens a file of their conversation at
`/webhooks/widget/files/<token>` (agents open theirs in the console).

Every bot message reaches the widget as one `bot_message_evt` event:
`{"text"?, "buttons"?: [{"title", "payload"}], "image"?, "custom"?, "agent"?, "file"?}`
plus `"id"` for pushed outbox messages, so a message that both the history
and a push carry is shown once.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
import time
import uuid
from datetime import timedelta
from typing import Any, Awaitable, Callable, Dict, List, Optional

import rasa.core.channels.channel
import socketio
from redis.exceptions import RedisError
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.bank.db import transaction
from bot.bank.handoff import attachments, live
from bot.bank.messaging import outbox
from bot.bank.messaging.outbox import OutboxItem, Unreachable
from bot.bank.refusals import Refusal
from bot.channels import client_address
from bot.channels.delivery import attach_delivery, poll
from bot.channels import files
from bot.channels.guard import Verdict, apology_text, guard
from bot.channels.widget_presence import REFRESH_SECONDS, RedisPresence
from bot.clock import now
from bot.logs import client_address as logged_client
from bot.settings import settings

logger = logging.getLogger(__name__)

CHANNEL = "widget"
SESSION_ID = re.compile(r"[0-9a-f]{32}")
TYPING_EVERY = timedelta(seconds=3)   # both ways: how often a typing signal is passed on
MAX_EVENT_BYTES = attachments.MAX_BYTES * 4 // 3 + 64 * 1024   # a file in one event (base64 when polling)


def widget_message(message: Dict[str, Any]) -> Dict[str, Any]:
    """The parts of a Rasa bot message (`BotUttered.message()`) the widget shows."""
    shown = {key: message[key] for key in ("text", "image", "custom") if message.get(key)}
    buttons = message.get("buttons") or message.get("quick_replies")
    if buttons:
        shown["buttons"] = [{"title": button.get("title", ""), "payload": button.get("payload", "")}
                            for button in buttons]
    if message.get("agent"):
        shown["agent"] = message["agent"]
    if isinstance(message.get("file"), dict):
        shown["file"] = file_view(message["file"])
    return shown


def file_view(file: Dict[str, Any]) -> Dict[str, str]:
    """What the widget needs of a file to show and open it (its link is built from the token)."""
    return {key: str(file.get(key, "")) for key in ("token", "name", "type")}


def history_messages(events: List[Any]) -> List[Dict[str, Any]]:
    """What the customer and the bot (or an agent) said, oldest first.

    A button click is stored with the payload as its text; the widget sends
    the button's title as `metadata.display`, which is what the customer saw.
    """
    messages = []
    for event in events:
        if isinstance(event, UserUttered) and event.text:
            metadata = event.metadata or {}
            if isinstance(metadata.get("file"), dict):
                messages.append({"from": "user", "file": file_view(metadata["file"])})
            else:
                messages.append({"from": "user", "text": metadata.get("display") or event.text})
        elif isinstance(event, BotUttered):
            shown = widget_message(event.message())
            if shown:
                messages.append({"from": "bot", **shown})
    return messages


def push_id(item_id: int, index: int) -> str:
    return f"{item_id}:{index}"


def pushed_messages(item: OutboxItem) -> List[Dict[str, Any]]:
    """An outbox item's messages as widget events, each with its own id."""
    return [{"id": push_id(item.id, index), **widget_message({**message, **message.get("metadata", {})})}
            for index, message in enumerate(item.messages)]


def customer_typing(session_id: str) -> None:
    with transaction() as session:
        live.customer_typing(session, session_id, at=now())


def already_recorded_pushes(session_id: str) -> List[str]:
    """Ids of pushes that are in the tracker already but not yet sent: the
    history carries them, so the widget drops the push when it comes."""
    with transaction() as session:
        return [push_id(row.id, index)
                for row in outbox.pending_for(session, CHANNEL, session_id) if row.recorded_at is not None
                for index in range(len((row.payload or {}).get("messages", [])))]


class WidgetOutput(SocketIOOutput):
    """Emits to the session's room: answers to the customer's messages, and
    (as the channel's `Pusher`) outbox messages such as agents' replies."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    def __init__(self, sio: socketio.AsyncServer, bot_message_evt: str, namespace: Optional[str],
                 presence: Optional[RedisPresence] = None) -> None:
        super().__init__(sio, bot_message_evt)
        self.namespace = namespace
        self.presence = presence

    async def _send_message(self, socket_id: str, response: Any) -> None:
        await self.sio.emit(self.bot_message_evt, response, room=socket_id, namespace=self.namespace)

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        """One event per bot message, in the shape the history uses too."""
        shown = widget_message(message)
        if shown:
            await self._send_message(recipient_id, shown)

    async def _nobody_listening(self, session_id: str) -> bool:
        """Nobody has the session's page open: on this server, no socket in its room; in a
        cluster (REDIS_URL), no server has seen one lately (bot/channels/widget_presence.py)."""
        if self.presence is not None:
            try:
                return not await self.presence.is_open(session_id)
            except RedisError:
                logger.warning("widget presence: Redis did not answer; judging by this server's sockets")
        namespace = self.namespace or "/"
        manager = self.sio.manager
        return namespace not in manager.rooms or not any(True for _ in manager.get_participants(namespace, session_id))

    typing_every = TYPING_EVERY

    async def show_typing(self, shown: live.TypingShown) -> None:
        await self.sio.emit("agent_typing", {}, room=shown.conversation_id, namespace=self.namespace)

    async def push(self, item: OutboxItem) -> None:
        """Emit to the session's room. A notification for a customer who has left raises
        `Unreachable` so it goes by SMS; other rows are in the history when they come back."""
        if item.notification_id and await self._nobody_listening(item.recipient_id):
            raise Unreachable("nobody has the chat window open")
        for message in pushed_messages(item):
            await self._send_message(item.recipient_id, message)


def _client_manager() -> Optional[socketio.AsyncRedisManager]:
    """With `REDIS_URL`, an emit to a room reaches sockets held by any Rasa server."""
    url = settings().redis_url
    return socketio.AsyncRedisManager(url) if url else None


def _presence() -> Optional[RedisPresence]:
    """With `REDIS_URL`, which sessions have a page open on any server."""
    url = settings().redis_url
    return RedisPresence(url) if url else None


async def _maybe_await(result: Any) -> None:
    """`enter_room` is plain before python-socketio 5.10 and a coroutine after."""
    if inspect.isawaitable(result):
        await result


class WidgetInput(SocketIOInput):
    """Rasa's socket.io channel with sessions that outlive the page."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    def get_output_channel(self) -> Optional[WidgetOutput]:
        """For Rasa's API (e.g. trigger_intent): emit to the session's room."""
        return WidgetOutput(self.sio, self.bot_message_evt, self.namespace) if self.sio else None

    def _authorised(self, auth: Optional[Dict[str, Any]]) -> bool:
        """Without `jwt_key` everyone may connect; with it, a valid token is needed."""
        if not self.jwt_key:
            return True
        token = (auth or {}).get("token")
        return bool(token and rasa.core.channels.channel.decode_bearer_token(
            token, self.jwt_key, self.jwt_algorithm))

    def _session_id(self, data: Optional[Dict[str, Any]]) -> str:
        """The widget's stored id when persistence is on and it is well formed, else a new one."""
        asked = (data or {}).get("session_id")
        if self.session_persistence and isinstance(asked, str) and SESSION_ID.fullmatch(asked):
            return asked
        return uuid.uuid4().hex

    def _metadata(self, data: Dict[str, Any]) -> Dict[str, Any]:
        """The message's metadata object (the widget sends `display`); anything else is dropped."""
        metadata = data.get(self.metadata_key) or {}
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except ValueError:
                return {}
        # `file` is set by the server for files it stored (`attachment` below), never by a client.
        return {key: value for key, value in metadata.items() if key != "file"} if isinstance(metadata, dict) else {}

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # As in Rasa: an empty list leaves CORS to Sanic (`rasa run --cors`), which
        # only the polling fallback needs; WebSockets are not subject to CORS.
        sio = socketio.AsyncServer(async_mode="sanic", cors_allowed_origins=[],
                                   client_manager=_client_manager(), max_http_buffer_size=MAX_EVENT_BYTES)
        presence = _presence()
        widget_webhook = SocketBlueprint(sio, self.socketio_path, "widget_webhook", __name__)
        self.sio = sio
        namespace = self.namespace
        server: Dict[str, Sanic] = {}

        @widget_webhook.listener("before_server_start")
        async def remember_app(app: Sanic, _loop: Optional[asyncio.AbstractEventLoop]) -> None:
            server["app"] = app
            if app.config.WEBSOCKET_MAX_SIZE < MAX_EVENT_BYTES:   # set before Sanic starts: SANIC_WEBSOCKET_MAX_SIZE
                logger.warning("SANIC_WEBSOCKET_MAX_SIZE is %s bytes: customers' photos above it will not arrive",
                               app.config.WEBSOCKET_MAX_SIZE)

        def connected(sid: str) -> bool:
            return sio.manager.is_connected(sid, namespace or "/")

        @widget_webhook.listener("after_server_start")
        async def keep_presence_fresh(app: Sanic, _loop: Optional[asyncio.AbstractEventLoop]) -> None:
            if presence is not None:
                app.add_task(poll("widget presence", lambda: presence.refresh(connected), lambda: REFRESH_SECONDS),
                             name="widget-presence")

        @widget_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: Dict[str, Any], auth: Optional[Dict[str, Any]] = None) -> bool:
            if not self._authorised(auth):
                return False
            # The handshake's request: behind HAProxy, the address it forwarded.
            await sio.save_session(sid, {"address": client_address.of_request(environ["sanic.request"])},
                                   namespace=namespace)
            return True

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Optional[Dict[str, Any]] = None) -> None:
            session_id = self._session_id(data)
            session = await sio.get_session(sid, namespace=namespace)
            await sio.save_session(sid, {**session, "session_id": session_id}, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)
            await send_history(sid, session_id)

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str, *_reason: Any) -> None:
            if presence is not None:
                await presence.closed(sid)

        @sio.on("history", namespace=namespace)
        async def history(sid: str, _data: Any = None) -> None:
            session_id = (await sio.get_session(sid, namespace=namespace)).get("session_id")
            if session_id:
                await send_history(sid, session_id)

        async def send_history(sid: str, session_id: str) -> None:
            """Join the room and send the conversation, under the conversation's
            lock: a reply or push being recorded right now is then either in
            the history or emitted to the room after it, never lost between."""
            agent = server["app"].ctx.agent
            async with agent.lock_store.lock(session_id):
                await _maybe_await(sio.enter_room(sid, session_id, namespace=namespace))
                if presence is not None:
                    await presence.opened(session_id, sid, still_open=lambda: connected(sid))
                already_sent = await asyncio.to_thread(already_recorded_pushes, session_id)
                tracker = await agent.tracker_store.retrieve(session_id)
            messages = history_messages(list(tracker.events) if tracker else [])
            await sio.emit("history", {"messages": messages, "pushed_ids": already_sent},
                           room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Optional[Dict[str, Any]] = None) -> None:
            session = await sio.get_session(sid, namespace=namespace)
            session_id, address = session.get("session_id"), session.get("address")
            logged_client.set(address)
            if not session_id:
                logger.warning("widget socket %s sent a message before session_request; ignored", sid)
                return
            data = data or {}
            message = UserMessage(str(data.get("message", "")), WidgetOutput(sio, self.bot_message_evt, namespace, presence),
                                  session_id, input_channel=CHANNEL, metadata=self._metadata(data))
            await guard(on_new_message, message, agent=server["app"].ctx.agent, address=address)

        @sio.on("typing", namespace=namespace)
        async def typing(sid: str, _data: Any = None) -> None:
            """The customer is typing to an agent: marked on their case, once per TYPING_EVERY per socket."""
            session = await sio.get_session(sid, namespace=namespace)
            session_id, last = session.get("session_id"), session.get("typed_at")
            moment = time.monotonic()
            if not session_id or (last is not None and moment - last < TYPING_EVERY.total_seconds()):
                return
            await sio.save_session(sid, {**session, "typed_at": moment}, namespace=namespace)
            await asyncio.to_thread(customer_typing, session_id)

        @sio.on("attachment", namespace=namespace)
        async def attachment(sid: str, data: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
            """A photo or PDF for the agent of the customer's open case: kept, then passed to Rasa
            as the customer's message (so the transcript has it). Answers the widget's
            acknowledgement with the file as stored, or with the reason in the bank's words
            ("" when the guard has already told the customer to slow down, and the file is dropped)."""
            session = await sio.get_session(sid, namespace=namespace)
            session_id, address = session.get("session_id"), session.get("address")
            content, name = (data or {}).get("data"), (data or {}).get("name")
            if not session_id or not isinstance(content, (bytes, bytearray)):
                return {"error": attachments.customer_refusal(Refusal("attachment_empty", ""))}
            logged_client.set(address)
            try:
                sent = await asyncio.to_thread(files.keep, session_id, bytes(content), str(name or ""))
            except Refusal as error:
                return {"error": attachments.customer_refusal(error)}
            except Exception:
                logger.exception("could not keep a file from widget session %s", session_id)
                return {"error": apology_text()}
            message = UserMessage(attachments.label(sent.name), WidgetOutput(sio, self.bot_message_evt, namespace, presence),
                                  session_id, input_channel=CHANNEL, metadata={"file": sent.as_metadata()})
            verdict = await guard(on_new_message, message, agent=server["app"].ctx.agent, address=address)
            if verdict == Verdict.LIMITED:   # never reached the conversation: not kept either
                await asyncio.to_thread(files.withdraw, sent.id)
                return {"error": ""}
            # Answered, or being handled still (an apology for slowness went out): it is in the conversation.
            return {"file": file_view(sent.as_metadata())}

        files.add_files_route(widget_webhook)

        def make_pusher(_app: Sanic) -> WidgetOutput:
            return WidgetOutput(sio, self.bot_message_evt, namespace, presence)

        attach_delivery(widget_webhook, CHANNEL, make_pusher)
        return widget_webhook
