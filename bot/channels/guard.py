"""What every channel puts between a customer's message and Rasa.

When the action server is down or slow, Rasa logs the error and answers
nothing, and the customer is left looking at a silent chat. `guard` wraps a
channel's `on_new_message` so that:

* a sender, or a client address, over the rate limit (bot/ratelimit.py) is
  told, kindly, to slow down, and the message never reaches Rasa;
* if Rasa answers nothing, fails, or has not answered within `deadline`
  seconds (default 4.5, `HELPLINE_REPLY_DEADLINE`), the customer gets a warm
  apology with the 24-hour hotline, unless an agent has the conversation
  (a paused tracker: the silence is the agent's, and the agent is told at
  once that the customer wrote, bot/bank/handoff/live.py). Rasa's processing is never
  cancelled: the message stays in the tracker, a late answer still reaches
  the output channel (and `on_late`, for channels whose replies are
  collected and returned once), and the next message is handled normally;
* how long the customer waited, how long Rasa took and every apology or
  refusal are recorded for /metrics (bot/metrics.py), and log lines written
  while the message is handled carry its conversation id (bot/logs.py).

Everything the guard says goes through the message's own output channel,
so each channel shows it the way it shows any bot message; the returned
`Verdict` is for channels that also answer with a status (REST: 429).
"""
from __future__ import annotations

import asyncio
import enum
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.core.constants import USER_INTENT_RESTART, USER_INTENT_SESSION_START

from bot import metrics
from bot.bank.db import transaction
from bot.bank.handoff import live
from bot.clock import now
from bot.logs import conversation_id
from bot.ratelimit import RateLimiter, shared_address_limiter, shared_limiter
from bot.settings import settings
from bot.wording import text_of

logger = logging.getLogger(__name__)

# Messages Rasa rightly answers with silence (a new session, a restart).
SILENT_COMMANDS = tuple(INTENT_MESSAGE_PREFIX + intent for intent in (USER_INTENT_SESSION_START, USER_INTENT_RESTART))
SLOW_DOWN = text_of("utter_channel_slow_down")

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
OnLate = Callable[[List[Dict[str, Any]]], Awaitable[None]]

# Rasa's work on each message, held until done: never cancelled with the
# request, never garbage-collected half-way once we stop waiting for it.
_unfinished: Set[asyncio.Task] = set()


class Verdict(enum.Enum):
    ANSWERED = "answered"      # Rasa answered in time
    APOLOGISED = "apologised"  # Rasa failed, was silent or slow; the apology was sent
    QUIET = "quiet"            # no answer, rightly: an agent has the conversation, or a silent command
    LIMITED = "limited"        # over the rate limit; Rasa never saw the message


def apology_text() -> str:
    return text_of("utter_channel_apology")


def reply_deadline() -> float:
    return float(settings().reply_deadline)


class WatchedOutput(OutputChannel):
    """The channel's own output, remembering what passed through it."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent: List[Dict[str, Any]] = []

    def name(self) -> str:  # type: ignore[override]
        return self.inner.name()

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        self.sent.append(dict(message))  # Rasa's send_response pops keys off the dict it is given
        await self.inner.send_response(recipient_id, message)


async def is_paused(agent: Any, sender_id: str) -> bool:
    """True when the conversation is paused for a human agent."""
    if agent is None:
        return False
    try:
        tracker = await agent.tracker_store.retrieve(sender_id)
    except Exception:  # the tracker store is down too: better an apology than silence
        logger.exception("could not read the tracker to check for a hand-off")
        return False
    return bool(tracker and tracker.is_paused())


def tell_the_agent(sender_id: str) -> None:
    """Mark the customer's message on their open case, for the agent's console to announce.
    The message itself is in the tracker already: a database fault here loses nothing."""
    try:
        with transaction() as session:
            live.customer_wrote(session, sender_id, at=now())
    except Exception:
        logger.exception("could not mark the customer's message on their case")


async def _process(on_new_message: OnNewMessage, message: UserMessage, channel: str) -> bool:
    """Rasa's handling of the message; False if it raised."""
    started = time.monotonic()
    try:
        await on_new_message(message)
        return True
    except Exception:
        logger.exception("Rasa failed on a message from %s", channel)
        return False
    finally:
        metrics.PROCESSING_SECONDS.labels(channel).observe(time.monotonic() - started)


def _deliver_late(task: "asyncio.Task[bool]", output: WatchedOutput, after: int, on_late: OnLate) -> None:
    """Once Rasa is done, hand what it said after the apology to `on_late`."""

    async def deliver() -> None:
        await task
        late = output.sent[after:]
        try:
            if late:
                await on_late(late)
        except Exception:
            logger.exception("a late answer could not be handed on")

    _keep(asyncio.ensure_future(deliver()))


def _keep(task: asyncio.Task) -> None:
    """Hold a reference until the task is done, so it is never collected half-way."""
    _unfinished.add(task)
    task.add_done_callback(_unfinished.discard)


async def _allowed(channel: str, sender: str, address: Optional[str], limiter: Optional[RateLimiter],
                   address_limiter: Optional[RateLimiter]) -> bool:
    """A token from the sender's bucket and, when the client's address is known, from the address's."""
    if not await (limiter or shared_limiter()).allow(f"{channel}:{sender}"):
        return False
    return not address or await (address_limiter or shared_address_limiter()).allow(f"address:{address}")


async def guard(on_new_message: OnNewMessage, message: UserMessage, *, agent: Any = None,
                deadline: Optional[float] = None, on_late: Optional[OnLate] = None,
                limiter: Optional[RateLimiter] = None, address: Optional[str] = None,
                address_limiter: Optional[RateLimiter] = None) -> Verdict:
    """Let Rasa handle `message`, making sure the customer hears something.

    Everything is said through `message.output_channel` (a collecting
    channel ends up holding the answer, or the apology). `agent` is the Rasa
    agent (`app.ctx.agent`), used to see whether an agent has the
    conversation; `on_late` receives the messages Rasa produced after the
    apology, once it finishes (for channels that cannot send them later
    through their output channel themselves); `address` is the client's
    (bot/channels/client_address.py), counted by the per-address limit.
    """
    channel = message.input_channel or message.output_channel.name()
    output = WatchedOutput(message.output_channel)
    message = UserMessage(message.text, output, message.sender_id, message.parse_data, message.input_channel,
                          message.message_id, message.metadata)
    token = conversation_id.set(message.sender_id)
    started = time.monotonic()
    try:
        if not await _allowed(channel, message.sender_id, address, limiter, address_limiter):
            metrics.RATE_LIMITED.labels(channel).inc()
            logger.info("rate limit: message from %s not passed to Rasa", channel)
            await output.send_response(message.sender_id, {"text": SLOW_DOWN})
            return Verdict.LIMITED
        task = asyncio.ensure_future(_process(on_new_message, message, channel))
        _keep(task)  # never cancelled, even if the client hangs up: nothing is lost
        done, _ = await asyncio.wait({task}, timeout=deadline if deadline is not None else reply_deadline())
        if done and task.result() and output.sent:
            return Verdict.ANSWERED
        if done and task.result() and (message.text or "").startswith(SILENT_COMMANDS):
            return Verdict.QUIET
        reason = "slow" if not done else "empty" if task.result() else "error"
        if await is_paused(agent, message.sender_id):
            await asyncio.to_thread(tell_the_agent, message.sender_id)
            return Verdict.QUIET
        logger.warning("no answer from Rasa for a %s message (%s): apologising", channel, reason)
        metrics.APOLOGIES.labels(channel, reason).inc()
        await output.send_response(message.sender_id, {"text": apology_text()})
        if not done and on_late is not None:
            _deliver_late(task, output, len(output.sent), on_late)
        return Verdict.APOLOGISED
    finally:
        metrics.REPLY_SECONDS.labels(channel).observe(time.monotonic() - started)
        conversation_id.reset(token)


def guarded(on_new_message: OnNewMessage, agent: Any, **options: Any) -> OnNewMessage:
    """`on_new_message` behind `guard`, for a channel's request handler
    (`options`: `deadline`, `on_late`, `address`, as for `guard`)."""

    async def handle(message: UserMessage) -> Verdict:
        return await guard(on_new_message, message, agent=agent, **options)

    return handle
