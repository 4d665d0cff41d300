"""Scratch bank databases for service tests (SQLite files and PostgreSQL), and calling services."""
from __future__ import annotations

import inspect
import os
import uuid
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot.bank.db import transaction, with_driver
from bot.bank.refusals import Refusal
from bot.clock import now

T = TypeVar("T")

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def postgres_available() -> bool:
    try:
        with create_engine(with_driver(POSTGRES_ADMIN_URL)).connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except OperationalError:  # not running; a missing driver fails loudly instead of skipping
        return False


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """A throw-away PostgreSQL database; yields its URL and drops it after."""
    name = f"helpline_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(with_driver(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        from bot.bank.db import engine_for

        engine_for(f"{base}/{name}").dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def serve(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a bank service as the actions and the console do: in one transaction, and
    for a service that takes the time, at the bank's current time (`HELPLINE_NOW`
    pins it in tests) unless `at` is given."""
    if "at" in inspect.signature(func).parameters:
        kwargs.setdefault("at", now())
    with transaction() as session:
        return func(session, *args, **kwargs)


@contextmanager
def refused(code: str) -> Iterator[None]:
    """The block must be refused by the bank's rules with this code."""
    with pytest.raises(Refusal) as caught:
        yield
    assert caught.value.code == code, caught.value.message
