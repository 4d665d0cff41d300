"""Rasa's SQL tracker store, configured by one URL like the bank database.

Rasa's own `SQL` tracker store takes dialect, host, port and so on as
separate endpoint settings; operators of this bot set URLs instead
(`TRACKER_DATABASE_URL`, or the bank's `DATABASE_URL`, see
`bot.bank.db.tracker_database_url`), so the same endpoints.yml serves a
laptop on SQLite and a cluster on PostgreSQL. The console and the insights
read conversations from the same place.

Rasa loads every event of the current session, for each message, as full
ORM objects; only their JSON column is used. Selecting that column alone
keeps the same rows in the same order without building an object per
event, which the load benchmark showed as a large share of the server's
CPU (docs/benchmarks.md, "Load"). And to find which events are new for the
event broker, Rasa loads the whole conversation a second time on every
save; counting the stored rows gives the same offset.
"""
from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from bot.bank.db import tracker_database_url

if TYPE_CHECKING:
    from sqlalchemy.orm import Query, Session


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

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """Publish the events not stored yet, as Rasa does, without reloading the conversation."""
        if self.event_broker is None:
            return
        with self.session_scope() as session:
            stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
        new_events = list(itertools.islice(tracker.events, stored, None))
        await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)
