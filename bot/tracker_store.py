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
"""
from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any, Dict, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import insert, text

from bot.bank.db import tracker_database_url

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


class UrlSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` on endpoints.yml's `url`, or else the environment's URL."""

    def __init__(self, domain: Optional[Domain] = None, host: Optional[str] = None,
                 event_broker: Optional[EventBroker] = None, **kwargs: Any) -> None:
        # Rasa passes the endpoint's `url` as `host`; a host containing "://"
        # is used by SQLTrackerStore as the complete database URL.
        super().__init__(domain, host=host or tracker_database_url(), event_broker=event_broker, **kwargs)

    def _event_query(self, session: "Session", sender_id: str, fetch_events_from_all_sessions: bool) -> "Query":
        """Rasa's query (same filter and order), selecting only the serialised event."""
        query = super()._event_query(session, sender_id, fetch_events_from_all_sessions)
        return query.with_entities(self.SQLEvent.data)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        """Rasa's `_retrieve`; the current session (every message) through the fixed statement."""
        if fetch_events_from_all_sessions:
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            stored = session.execute(CURRENT_SESSION_DATA, {"sender_id": sender_id}).scalars().all()
        if not (self.domain and stored):
            return None
        return DialogueStateTracker.from_dict(sender_id, [json.loads(data) for data in stored], self.domain.slots)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events not stored yet, then publish them: Rasa's rows, Rasa's offset."""
        with self.session_scope() as session:
            stored = session.execute(CURRENT_SESSION_COUNT, {"sender_id": tracker.sender_id}).scalar_one()
            new_events = list(itertools.islice(tracker.events, stored, None))
            if new_events:
                session.execute(insert(self.SQLEvent.__table__), [_row(tracker.sender_id, e) for e in new_events])
                session.commit()
        if self.event_broker is not None:
            await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)


def _row(sender_id: str, event: Event) -> Dict[str, Any]:
    """The `events` row Rasa's `SQLTrackerStore.save` writes for `event`."""
    data = event.as_dict()
    return {"sender_id": sender_id, "type_name": event.type_name, "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"), "data": json.dumps(data)}
