"""Rasa's SQL tracker store, configured by one URL like the bank database.

Rasa's own `SQL` tracker store takes dialect, host, port and so on as
separate endpoint settings; operators of this bot set URLs instead
(`TRACKER_DATABASE_URL`, or the bank's `DATABASE_URL`, see
`bot.bank.db.tracker_database_url`), so the same endpoints.yml serves a
laptop on SQLite and a cluster on PostgreSQL. The console and the insights
read conversations from the same place.

Rasa reads a conversation's current session on every message, and counts
it again on every save, with ORM queries that SQLAlchemy builds, compiles
and checks anew each time; the load benchmark showed this as a large share
of the server's CPU (docs/benchmarks.md, "Load"). Here the same SQL (same
filter, same order) is a fixed statement, the events are inserted in one
multi-row statement, and one count serves both the insert and the event
broker, where Rasa loads the whole conversation again to find the events
new to the broker. tests/test_tracker_store.py compares rows, trackers and
published events with Rasa's own store.

Rebuilding a tracker decodes and replays every event of the session, so a
turn cost more the longer the conversation ran. Each server therefore keeps
the trackers it saved last (`TrackerCache`) with the session's row count and
newest row id at that moment. On the next read one indexed query compares
them with the table: unchanged, the tracker is handed back; when another
server (or the HTTP API, or a delivery) added rows since, only those rows
are read and applied, as Rasa's replay would apply them. A new session, a
count that does not add up, or a tracker that gained events it never saved
(a turn that failed half-way) means a full read, as before. Messages of one
conversation are handled one at a time (the lock store), so a
conversation's rows are committed in id order.
"""
from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Dict, NamedTuple, Optional, Tuple

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import insert, text

from bot.bank.db import tracker_database_url
from bot.settings import settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Query, Session

# Rasa's "current session": the events from the newest `session_started` on
# (by timestamp), or all of them when there is none; in the order stored.
_CURRENT_SESSION = ("FROM {events} WHERE sender_id = :sender_id AND (timestamp >= ({start}) OR ({start}) IS NULL)"
                    .format(events=SQLTrackerStore.SQLEvent.__tablename__,
                            start=f"SELECT max(timestamp) FROM {SQLTrackerStore.SQLEvent.__tablename__} "
                                  "WHERE sender_id = :sender_id AND type_name = 'session_started'"))
CURRENT_SESSION_DATA = text(f"SELECT data {_CURRENT_SESSION} ORDER BY id")
CURRENT_SESSION_COUNT = text(f"SELECT count(*) {_CURRENT_SESSION}")
# What a cached tracker is checked against: the session's row count and newest row id.
CURRENT_SESSION_STAMP = text(f"SELECT count(*), max(id) {_CURRENT_SESSION}")
NEWEST_ID = text(f"SELECT max(id) FROM {SQLTrackerStore.SQLEvent.__tablename__} WHERE sender_id = :sender_id")
EVENTS_AFTER = text(f"SELECT type_name, data FROM {SQLTrackerStore.SQLEvent.__tablename__} "
                    "WHERE sender_id = :sender_id AND id > :after ORDER BY id")
Stamp = Tuple[int, Optional[int]]


class _Saved(NamedTuple):
    tracker: DialogueStateTracker
    stamp: Stamp  # the session's rows right after this server saved the tracker


class TrackerCache:
    """The trackers this server saved last, newest last, at most `size` of them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._saved: "OrderedDict[str, _Saved]" = OrderedDict()

    def get(self, sender_id: str) -> Optional[_Saved]:
        """The saved tracker and its stamp, unless the tracker gained events since it
        was saved (a turn under way, or one that failed before saving)."""
        saved = self._saved.get(sender_id)
        if saved is None or len(saved.tracker.events) != saved.stamp[0]:
            return None
        self._saved.move_to_end(sender_id)
        return saved

    def put(self, tracker: DialogueStateTracker, stamp: Stamp) -> None:
        """Keep `tracker` if it is exactly the session stored (not when a new session began in it,
        nor an empty one, which Rasa reads back as no tracker at all)."""
        self.discard(tracker.sender_id)
        if self.size <= 0 or stamp[0] == 0 or len(tracker.events) != stamp[0]:
            return
        self._saved[tracker.sender_id] = _Saved(tracker, stamp)
        while len(self._saved) > self.size:
            self._saved.popitem(last=False)

    def stored_count(self, tracker: DialogueStateTracker) -> Optional[int]:
        """How many rows of its session are stored, if `tracker` is the very tracker this cache
        handed out and the stamp is its own (read under the conversation's lock, like the save)."""
        saved = self._saved.get(tracker.sender_id)
        return saved.stamp[0] if saved is not None and saved.tracker is tracker else None

    def discard(self, sender_id: str) -> None:
        self._saved.pop(sender_id, None)

    def clear(self) -> None:
        self._saved.clear()


class UrlSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` on endpoints.yml's `url`, or else the environment's URL."""

    def __init__(self, domain: Optional[Domain] = None, host: Optional[str] = None,
                 event_broker: Optional[EventBroker] = None, **kwargs: Any) -> None:
        # Rasa passes the endpoint's `url` as `host`; a host containing "://"
        # is used by SQLTrackerStore as the complete database URL.
        super().__init__(domain, host=host or tracker_database_url(), event_broker=event_broker, **kwargs)
        self.cache = TrackerCache(settings().tracker_cache_size)

    @property
    def domain(self) -> Domain:
        return self._domain

    @domain.setter
    def domain(self, domain: Optional[Domain]) -> None:
        """Rasa's setter; a new model's domain (other slots) makes every cached tracker stale."""
        self._domain = domain or Domain.empty()
        if getattr(self, "cache", None) is not None:
            self.cache.clear()

    def _event_query(self, session: "Session", sender_id: str, fetch_events_from_all_sessions: bool) -> "Query":
        """Rasa's query (same filter and order), selecting only the serialised event."""
        query = super()._event_query(session, sender_id, fetch_events_from_all_sessions)
        return query.with_entities(self.SQLEvent.data)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        """Rasa's `_retrieve`; the current session (every message) through the fixed statement,
        from the tracker this server saved when the table still matches it."""
        if fetch_events_from_all_sessions:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            stamp = _stamp(session, sender_id)
            saved = self.cache.get(sender_id)
            if saved is not None:
                if _bring_up_to_date(session, saved, stamp):
                    self.cache.put(saved.tracker, stamp)
                    return saved.tracker
                self.cache.discard(sender_id)
            stored = session.execute(CURRENT_SESSION_DATA, {"sender_id": sender_id}).scalars().all()
        if not (self.domain and stored):
            return None
        return DialogueStateTracker.from_dict(sender_id, [json.loads(data) for data in stored], self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events not stored yet, then publish them: Rasa's rows, Rasa's offset.

        A tracker this cache handed out needs no count first (its stamp says what is stored),
        and unless a new session began, the new stamp is that count plus the rows added, with
        the newest id, both what the table now says; a new session is counted again (its start
        is by timestamp, as Rasa counts it)."""
        sender_id = tracker.sender_id
        with self.session_scope() as session:
            stored = self.cache.stored_count(tracker)
            if stored is None:
                stored = session.execute(CURRENT_SESSION_COUNT, {"sender_id": sender_id}).scalar_one()
            new_events = list(itertools.islice(tracker.events, stored, None))
            if new_events:
                session.execute(insert(self.SQLEvent.__table__), [_row(sender_id, e) for e in new_events])
                session.commit()
            if any(isinstance(event, SessionStarted) for event in new_events):
                stamp = _stamp(session, sender_id)
            else:
                stamp = stored + len(new_events), session.execute(NEWEST_ID, {"sender_id": sender_id}).scalar_one()
            self.cache.put(tracker, stamp)
        if self.event_broker is not None:
            await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)


def _bring_up_to_date(session: "Session", saved: _Saved, stamp: Stamp) -> bool:
    """Apply to the saved tracker the rows added since it was saved; False when
    only a full read is right (a new session, or rows that do not add up)."""
    if stamp == saved.stamp:
        return True
    if saved.stamp[1] is None or stamp[0] <= saved.stamp[0]:
        return False
    newer = session.execute(EVENTS_AFTER, {"sender_id": saved.tracker.sender_id, "after": saved.stamp[1]}).all()
    if len(newer) != stamp[0] - saved.stamp[0] or any(type_name == "session_started" for type_name, _ in newer):
        return False
    for event in deserialise_events([json.loads(data) for _, data in newer]):  # as `from_dict` replays them
        saved.tracker.update(event)
    return True


def _stamp(session: "Session", sender_id: str) -> Stamp:
    count, newest = session.execute(CURRENT_SESSION_STAMP, {"sender_id": sender_id}).one()
    return int(count), newest


def _row(sender_id: str, event: Event) -> Dict[str, Any]:
    """The `events` row Rasa's `SQLTrackerStore.save` writes for `event`."""
    data = event.as_dict()
    return {"sender_id": sender_id, "type_name": event.type_name, "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"), "data": json.dumps(data)}
