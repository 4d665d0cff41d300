"""Conversations and customer messages, read from Rasa's tracker store.

Rasa keeps every event of every conversation in its SQL tracker store (table
`events`, see bot/tracker_store.py). The insights read that table directly
with SQLAlchemy Core instead of loading trackers through Rasa: a month of
traffic is one indexed range query, and the staff console does not have to
import Rasa to draw a chart.

Definitions used by every figure (docs/insights.md repeats them):

- A *message* is a `user` event: something the customer said or tapped.
  Its channel is the event's `input_channel` (rest, widget, wechat).
- A *conversation* is a Rasa session (a `session_started` event and what
  follows, up to the sender's next `session_started`; Rasa starts a new one
  after 60 minutes of silence, domain/core.yml) in which the customer said
  at least one thing. It belongs to the day its session started and to the
  channel of its first message.
- A *fallback message* is one Rasa did not understand well enough to act
  on: intent `nlu_fallback` or `out_of_scope`, or an intent confidence below
  the FallbackClassifier threshold in config.yml.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import yaml
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, func, inspect, select
from sqlalchemy.engine import Engine

from bot.bank.db import tracker_database_url, with_driver
from bot.settings import ROOT
from bot.clock import SHANGHAI

FALLBACK_INTENTS = ("nlu_fallback", "out_of_scope")
KNOWLEDGE_SLOT = "knowledge_topic"   # set by action_answer_question (actions/knowledge.py)
DEFAULT_FALLBACK_THRESHOLD = 0.4

# The columns of Rasa's `SQLTrackerStore.SQLEvent` that the insights read.
EVENTS = Table(
    "events", MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


@lru_cache(maxsize=1)
def fallback_threshold() -> float:
    """The FallbackClassifier threshold of config.yml, so both always agree."""
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8")) or {}
    for component in config.get("pipeline") or []:
        if component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", DEFAULT_FALLBACK_THRESHOLD))
    return DEFAULT_FALLBACK_THRESHOLD


@lru_cache(maxsize=4)
def _engine(url: str) -> Engine:
    """A plain engine of our own: `bot.bank.db.engine_for` would take SQLite's
    write lock (BEGIN IMMEDIATE) and hold Rasa's writes up while we read."""
    if url.startswith("sqlite"):
        return create_engine(url, future=True, connect_args={"check_same_thread": False, "timeout": 15})
    return create_engine(with_driver(url), future=True, pool_pre_ping=True)


@dataclass(frozen=True)
class Message:
    """One thing the customer said, with what the NLU made of it."""

    event_id: int
    sender_id: str
    at: datetime                     # aware, Asia/Shanghai
    channel: str
    text: str
    intent: Optional[str]
    confidence: Optional[float]
    response_key: Optional[str]      # "kb/<topic>" when the knowledge base answered it
    ranking: Tuple[str, ...]         # intents by confidence, best first (fallback included)
    session_start: Optional[float]   # its conversation's start; None: began before the period
    fallback: bool

    @property
    def label(self) -> Optional[str]:
        """The answer it got: a knowledge-base topic like "kb/transfer", else the intent."""
        return self.response_key or self.intent


@dataclass(frozen=True)
class Conversation:
    """A session with at least one message in the period (see the module doc)."""

    sender_id: str
    channel: str
    started_at: datetime
    start: float                     # Unix time of `session_started`
    until: Optional[float]           # the sender's next session start; None: still the latest
    messages: int


@dataclass(frozen=True)
class Traffic:
    conversations: Tuple[Conversation, ...]
    messages: Tuple[Message, ...]    # in the period, whether or not their conversation began in it


def _message(row, session_start: Optional[float], threshold: float) -> Message:
    data = json.loads(row.data or "{}")
    parse = data.get("parse_data") or {}
    intent = (parse.get("intent") or {}).get("name") or row.intent_name
    confidence = (parse.get("intent") or {}).get("confidence")
    fallback = intent in FALLBACK_INTENTS or (confidence is not None and float(confidence) < threshold)
    return Message(
        event_id=row.id, sender_id=row.sender_id, at=datetime.fromtimestamp(row.timestamp, SHANGHAI),
        channel=data.get("input_channel") or "", text=data.get("text") or "", intent=intent,
        confidence=None if confidence is None else float(confidence), response_key=None,
        ranking=tuple(item.get("name") for item in parse.get("intent_ranking") or [] if item.get("name")),
        session_start=session_start, fallback=fallback)


def _answered_topic(row) -> Optional[str]:
    """The topic of a `knowledge_topic` slot event, None for any other slot."""
    data = json.loads(row.data or "{}")
    return data.get("value") if data.get("name") == KNOWLEDGE_SLOT else None


def _next_session_starts(connection, start: float, end: float) -> Dict[str, float]:
    """Per sender active in the period, the first session started after it."""
    active = select(EVENTS.c.sender_id).where(
        EVENTS.c.type_name == "user", EVENTS.c.timestamp >= start, EVENTS.c.timestamp < end).distinct()
    rows = connection.execute(
        select(EVENTS.c.sender_id, func.min(EVENTS.c.timestamp))
        .where(EVENTS.c.type_name == "session_started", EVENTS.c.timestamp >= end,
               EVENTS.c.sender_id.in_(active))
        .group_by(EVENTS.c.sender_id))
    return {sender: first for sender, first in rows}


def _sessions_of(sender: str, rows: Sequence, later: Optional[float],
                 threshold: float) -> Tuple[List[Conversation], List[Message]]:
    """Split one sender's events (in time order) into sessions and messages."""
    starts = [row.timestamp for row in rows if row.type_name == "session_started"]
    conversations: List[Conversation] = []
    messages: List[Message] = []
    current: Optional[float] = None
    counts: Dict[float, List[Message]] = {}
    for row in rows:
        if row.type_name == "session_started":
            current = row.timestamp
            counts[current] = []
            continue
        if row.type_name == "slot":
            topic = _answered_topic(row)
            if topic and messages:   # the knowledge base answered the latest message
                answered = dataclasses.replace(messages[-1], response_key=f"kb/{topic}")
                messages[-1] = answered
                if current is not None and counts[current]:
                    counts[current][-1] = answered
            continue
        message = _message(row, current, threshold)
        messages.append(message)
        if current is not None:
            counts[current].append(message)
    for index, start in enumerate(starts):
        said = counts[start]
        if not said:
            continue   # a session opened (e.g. the widget connected) but the customer never wrote
        until = starts[index + 1] if index + 1 < len(starts) else later
        conversations.append(Conversation(sender, said[0].channel, datetime.fromtimestamp(start, SHANGHAI),
                                          start, until, len(said)))
    return conversations, messages


def read_traffic(start: datetime, end: datetime, channel: Optional[str] = None,
                 url: Optional[str] = None) -> Traffic:
    """Conversations begun and messages sent in [start, end), optionally on one channel."""
    engine = _engine(url or tracker_database_url())
    if not inspect(engine).has_table("events"):
        return Traffic((), ())   # Rasa has not stored a conversation yet
    low, high = start.timestamp(), end.timestamp()
    threshold = fallback_threshold()
    with engine.connect() as connection:
        rows = connection.execute(
            select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.timestamp,
                   EVENTS.c.intent_name, EVENTS.c.data)
            .where(EVENTS.c.type_name.in_(("user", "session_started", "slot")),
                   EVENTS.c.timestamp >= low, EVENTS.c.timestamp < high)
            .order_by(EVENTS.c.sender_id, EVENTS.c.timestamp, EVENTS.c.id)).all()
        later = _next_session_starts(connection, low, high)
    by_sender: Dict[str, List] = {}
    for row in rows:
        by_sender.setdefault(row.sender_id, []).append(row)
    conversations: List[Conversation] = []
    messages: List[Message] = []
    for sender, events in by_sender.items():
        found, said = _sessions_of(sender, events, later.get(sender), threshold)
        conversations += found
        messages += said
    if channel:
        conversations = [c for c in conversations if c.channel == channel]
        messages = [m for m in messages if m.channel == channel]
    return Traffic(tuple(sorted(conversations, key=lambda c: (c.start, c.sender_id))),
                   tuple(sorted(messages, key=lambda m: (m.at, m.event_id))))
