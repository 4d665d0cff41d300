"""The bank database: one engine per URL, sessions as transactions.

`DATABASE_URL` selects the database (PostgreSQL in production); without it
an SQLite file under the data directory (`HELPLINE_DATA_DIR`, default
`var/`) is used, so a fresh clone runs with nothing to install.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import settings


def data_dir() -> Path:
    """Where the SQLite files live; created on first use."""
    return settings().data_dir


def database_url() -> str:
    """`DATABASE_URL`, or the default SQLite file in the data directory."""
    return settings().database_url


def tracker_database_url() -> str:
    """Where Rasa keeps conversations (its `events` table); see `Settings.tracker_database_url`."""
    return settings().tracker_database_url


def with_driver(url: str) -> str:
    """`url`, naming psycopg2 for PostgreSQL: both environments install it, but
    `postgresql://` means psycopg2 to SQLAlchemy 1.4 (Rasa's environment) and
    psycopg 3 to SQLAlchemy 2.1 (the console's, docs/platform.md)."""
    scheme, separator, rest = url.partition("://")
    return f"postgresql+psycopg2://{rest}" if separator and scheme == "postgresql" else url


def _tune_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL for concurrent readers, and wait on a locked file.

    `BEGIN IMMEDIATE` takes the write lock at the start of each transaction,
    so two bookings never both read a free ticket and then both write.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy issue BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One pooled engine per database URL and process."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, future=True, connect_args={"check_same_thread": False, "timeout": 15}
        )
        _tune_sqlite(engine)
        return engine
    return create_engine(with_driver(url), future=True, pool_pre_ping=True, pool_size=10, max_overflow=20)


@lru_cache(maxsize=8)
def _session_factory(url: str) -> sessionmaker:
    return sessionmaker(bind=engine_for(url), future=True, expire_on_commit=False)


@contextmanager
def transaction() -> Iterator[Session]:
    """A session whose work commits together or not at all."""
    session: Session = _session_factory(database_url())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
