"""Alembic environment: migrate the bank database named by bot.bank.db.

On SQLite a batch migration rebuilds a table (copy, drop, rename). The bank's
connections turn foreign keys on (bot.bank.db), and with them on, dropping
the old table would delete or null every row that refers to it (a
notification's attempts, an outbox row's notification). So migrations run
with foreign keys off, as SQLite's documentation prescribes for table
rebuilds, and are checked before they commit.
"""
from contextlib import contextmanager

from alembic import context

from bot.bank.db import database_url, engine_for
from bot.bank.models import Base

target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


@contextmanager
def sqlite_foreign_keys_off(connection):
    """Foreign keys off for the migration (set outside any transaction, where SQLite
    honours it), every reference checked before commit, and on again after."""
    raw = connection.connection.dbapi_connection if hasattr(connection.connection, "dbapi_connection") \
        else connection.connection.connection
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        if connection.in_transaction():     # SQLAlchemy 2 may have begun again; the pragma needs none
            connection.commit()
        raw.execute("PRAGMA foreign_keys=ON")


def _check_references(connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migration left rows pointing at nothing: {broken[:5]}")


def run_migrations_online() -> None:
    connectable = context.config.attributes.get("connection") or engine_for(database_url())
    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=sqlite)
        if not sqlite:
            with context.begin_transaction():
                context.run_migrations()
            return
        with sqlite_foreign_keys_off(connection):
            with context.begin_transaction():
                context.run_migrations()
                _check_references(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
