"""One-time codes on PostgreSQL, whose server time zone is not Shanghai's.

PostgreSQL hands back `expires_at` as an aware time in its own zone (UTC on
most servers); compared as a naive wall-clock time against Shanghai's, every
code looked expired eight hours early, so nobody could verify a phone.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.bank.db import transaction
from bot.bank.customers.identity import send_code, verify_code
from bot.bank.seed import seed
from bot.clock import SHANGHAI
from tests.bankdb import postgres_available, scratch_postgres

NOW = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)
PHONE = "13800138099"


class Catch:
    def send(self, phone: str, code: str) -> None:
        self.code = code


@pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not running (.ci/run starts it)")
def test_a_fresh_code_is_accepted_and_an_old_one_expires_on_postgresql(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPLINE_DATA_DIR", str(tmp_path))
    sender = Catch()
    monkeypatch.setattr("bot.bank.customers.identity.code_sender", lambda: sender)
    with scratch_postgres() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("PGTZ", "UTC")  # the session zone of most servers, whatever this one's is
        seed(today=NOW.date())
        with transaction() as session:
            send_code(session, PHONE, NOW)
        with transaction() as session:
            assert verify_code(session, PHONE, sender.code, "rest", "u1", NOW + timedelta(minutes=4)).ok
        with transaction() as session:
            send_code(session, PHONE, NOW)
        with transaction() as session:
            late = verify_code(session, PHONE, sender.code, "rest", "u2", NOW + timedelta(minutes=6))
        assert (late.ok, late.reason) == (False, "expired")
