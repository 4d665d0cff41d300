"""What the Rasa server counts, for Prometheus (`GET /metrics`, bot/channels/ops.py).

Conversation counts come from Rasa's own event stream: this module's
`MetricsEventBroker` is configured as the event broker in endpoints.yml
(`event_broker: type: bot.metrics.MetricsEventBroker`), so the tracker store
hands it every new event of every conversation, whichever channel it came
from, and the channels need no counting code. Latency, apologies and
rate-limit refusals are observed by the channel guard (bot/channels/guard.py),
which is the only place that sees how long a customer waited.

Counts are per process (Prometheus adds up the servers it scrapes).
"""
from __future__ import annotations

from asyncio import AbstractEventLoop
from typing import Any, Dict, Optional

from prometheus_client import Counter, Histogram
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

MESSAGES = Counter("helpline_messages", "Customer messages, by channel", ["channel"])
INTENTS = Counter("helpline_intents", "Customer messages, by recognised intent", ["intent"])
FALLBACKS = Counter("helpline_fallbacks", "Messages the bot did not understand or cannot help with", ["intent"])
HANDOFFS = Counter("helpline_handoffs", "Hand-offs to a person (action_hand_off run)")
BOOKINGS = Counter("helpline_booking_submissions", "Booking forms submitted (action_submit_booking run)")
DEFERRALS = Counter("helpline_deferral_submissions", "Deferral request forms submitted (action_submit_deferral run)")

REPLY_SECONDS = Histogram("helpline_reply_seconds", "Time until the customer got an answer (or an apology)",
                          ["channel"], buckets=(0.1, 0.25, 0.5, 1, 2, 3, 4, 4.5, 5, 7.5, 10))
PROCESSING_SECONDS = Histogram("helpline_processing_seconds", "Time Rasa took to handle a message, to the end",
                               ["channel"], buckets=(0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 10, 30, 60, 300))
APOLOGIES = Counter("helpline_apologies", "Apologies sent because Rasa answered nothing, failed or was slow",
                    ["channel", "reason"])
RATE_LIMITED = Counter("helpline_rate_limited", "Messages turned away by the per-sender rate limit", ["channel"])

FALLBACK_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
ACTION_COUNTERS = {"action_hand_off": HANDOFFS, "action_submit_booking": BOOKINGS,
                   "action_submit_deferral": DEFERRALS}


def count_event(event: Dict[str, Any]) -> None:
    """Update the counters for one Rasa event (as the tracker store publishes it)."""
    kind = event.get("event")
    if kind == "user":
        MESSAGES.labels(event.get("input_channel") or "unknown").inc()
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent:
            INTENTS.labels(intent).inc()
            if intent in FALLBACK_INTENTS:
                FALLBACKS.labels(intent).inc()
    elif kind == "action" and event.get("name") in ACTION_COUNTERS:
        ACTION_COUNTERS[event["name"]].inc()


class MetricsEventBroker(EventBroker):
    """An event broker that only counts; nothing leaves the process."""

    @classmethod
    async def from_endpoint_config(cls, broker_config: EndpointConfig,
                                   event_loop: Optional[AbstractEventLoop] = None) -> "MetricsEventBroker":
        return cls()

    def publish(self, event: Dict[str, Any]) -> None:
        count_event(event)
