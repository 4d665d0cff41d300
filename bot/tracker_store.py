"""Rasa's SQL tracker store, configured by one URL like the bank database.

Rasa's own `SQL` tracker store takes dialect, host, port and so on as
separate endpoint settings; operators of this bot set URLs instead
(`TRACKER_DATABASE_URL`, or the bank's `DATABASE_URL`, see
`bot.bank.db.tracker_database_url`), so the same endpoints.yml serves a
laptop on SQLite and a cluster on PostgreSQL. The console and the insights
read conversations from the same place.
"""
from __future__ import annotations

from typing import Any, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain

from bot.bank.db import tracker_database_url


class UrlSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` on endpoints.yml's `url`, or else the environment's URL."""

    def __init__(self, domain: Optional[Domain] = None, host: Optional[str] = None,
                 event_broker: Optional[EventBroker] = None, **kwargs: Any) -> None:
        # Rasa passes the endpoint's `url` as `host`; a host containing "://"
        # is used by SQLTrackerStore as the complete database URL.
        super().__init__(domain, host=host or tracker_database_url(), event_broker=event_broker, **kwargs)
