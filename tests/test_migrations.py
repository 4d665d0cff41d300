"""The migrations build exactly the tables the models declare, on SQLite and PostgreSQL.

`alembic revision --autogenerate` compares the database with `Base.metadata`;
if a table lived outside the models (as the WeChat retry store once did),
that comparison would plan to drop a live table. Here the comparison after
`alembic upgrade head` must find nothing, and the vocabulary CHECKs that
Alembic does not compare are tried by writing a word outside them.
"""
from __future__ import annotations

from typing import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.bank.db import engine_for
from bot.bank.models import Base
from bot.bank.schema import alembic_config, upgrade
from tests.bankdb import postgres_available, scratch_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_url(request, tmp_path, monkeypatch) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bank.db'}"
        monkeypatch.setenv("DATABASE_URL", url)
        upgrade()
        yield url
        return
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable")
    with scratch_postgres() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        upgrade()
        yield url


def test_the_migrated_database_matches_the_models(migrated_url):
    with engine_for(migrated_url).connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_every_model_table_is_created_by_a_migration(migrated_url):
    with engine_for(migrated_url).connect() as connection:
        context = MigrationContext.configure(connection)
        tables = set(context.bind.dialect.get_table_names(connection))
    assert set(Base.metadata.tables) <= tables
    assert "wechat_dedup" in Base.metadata.tables


@pytest.mark.parametrize("table, row", [
    ("loans", "(contract_no, product, borrower_name, borrower_phone, debit_day, next_due, next_amount_fen, status)"
              " VALUES ('PC2026HL000001', '房贷', '张三', '13800138000', 5, '2026-10-05', 100, 'overdue')"),
    ("staff", "(username, display_name, role, password_hash, active, session_epoch, created_at)"
              " VALUES ('x', 'X', 'manager', 'h', true, 0, '2026-10-01 09:00:00')"),
])
def test_a_word_outside_a_vocabulary_is_refused_by_the_database(migrated_url, table, row):
    with pytest.raises(IntegrityError):
        with engine_for(migrated_url).begin() as connection:
            connection.execute(text(f"INSERT INTO {table} {row}"))


def test_every_word_of_a_vocabulary_is_accepted(migrated_url):
    """The CHECK constraints follow the enums: a role added later (kb_editor) is allowed."""
    with engine_for(migrated_url).begin() as connection:
        for role in ("agent", "kb_editor", "admin"):
            connection.execute(text(
                "INSERT INTO staff (username, display_name, role, password_hash, active, session_epoch, created_at)"
                f" VALUES ('{role}', 'X', '{role}', 'h', true, 0, '2026-10-01 09:00:00')"))


def test_requests_stored_with_the_old_reasons_get_the_new_names(tmp_path, monkeypatch):
    """0018 and 0019: staff count and filter by reason, so a stored request must carry the name offered now."""
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    command.upgrade(alembic_config(), "0017")
    with engine_for(url).begin() as connection:
        connection.execute(text("INSERT INTO customers (id, phone) VALUES (1, '13800138000')"))
        connection.execute(text(
            "INSERT INTO loans (id, contract_no, product, borrower_name, borrower_phone, debit_day, next_due,"
            " next_amount_fen, status) VALUES (1, 'PC2026HL000001', '房贷', '张三', '13800138000', 10, '2026-10-10',"
            " 100, 'active')"))
        for number, reason in enumerate(("疫情影响收入", "被困外地", "生病", "其他", "孩子上学要用钱")):
            connection.execute(text(
                "INSERT INTO deferral_requests (reference, loan_id, customer_id, requested_day, current_due, new_due,"
                " reason, hardship, channel, channel_user, status, staff_note, created_at, updated_at) VALUES"
                f" ('2000000{number}', 1, 1, 20, '2026-10-10', '2026-10-20', '{reason}', false, 'rest', 'u',"
                " 'cancelled', '', '2026-10-01 09:00:00', '2026-10-01 09:00:00')"))
    upgrade()
    with engine_for(url).connect() as connection:
        reasons = connection.execute(text("SELECT reason FROM deferral_requests ORDER BY reference")).scalars().all()
    assert reasons == ["收入减少", "人在外地", "身体原因", "其他原因", "孩子上学要用钱"]


def test_rebuilding_a_table_on_sqlite_keeps_the_rows_that_point_at_it(tmp_path, monkeypatch):
    """0020 rebuilds `notifications` (a new kind in its CHECK). With foreign keys on, SQLite's
    DROP of the old table would delete its attempts and unlink its outbox rows."""
    url = f"sqlite:///{tmp_path / 'bank.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    command.upgrade(alembic_config(), "0019")
    with engine_for(url).begin() as connection:
        connection.execute(text(
            "INSERT INTO notifications (id, kind, channel, channel_user, text, fields, status, route, attempts,"
            " created_at) VALUES (1, 'deferral_decision', 'widget', 's1', '您的申请已经通过', '{}', 'pending',"
            " 'channel', 1, '2026-10-01 09:00:00')"))
        connection.execute(text(
            "INSERT INTO notification_attempts (notification_id, route, at, ok) VALUES"
            " (1, 'channel', '2026-10-01 09:00:01', false)"))
        connection.execute(text(
            "INSERT INTO outbox (channel, channel_user, kind, payload, created_at, attempts, notification_id)"
            " VALUES ('widget', 's1', 'deferral_decision', '{}', '2026-10-01 09:00:00', 1, 1)"))
    upgrade()
    with engine_for(url).connect() as connection:
        kept = connection.execute(text(
            "SELECT (SELECT COUNT(*) FROM notification_attempts WHERE notification_id = 1),"
            " (SELECT notification_id FROM outbox), (SELECT COUNT(*) FROM notifications)")).one()
        foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
    assert tuple(kept) == (1, 1, 1) and foreign_keys == 1      # and the bank's connections check references again
