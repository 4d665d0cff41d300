"""Shared fixtures: the running stack and the project's data files.

The helpline reads its settings once (bot/settings.py). Tests change the
environment with pytest's monkeypatch, so every change and every undo of
one (in a test or a module fixture's `MonkeyPatch.context()`) reloads them.
"""
from __future__ import annotations

import pytest

from bot import settings as helpline_settings


def _reloading(method):
    def changed(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        helpline_settings.reload()
        return result

    return changed


for _name in ("setenv", "delenv", "undo"):
    setattr(pytest.MonkeyPatch, _name, _reloading(getattr(pytest.MonkeyPatch, _name)))

# The console's environment (.venv-desk, make test-desk) has no Rasa: the
# fixtures that start Rasa import what they need when they are used.

# Monday 28 September 2026, 09:30 in Shenzhen: National Day (1-7 October) is
# three days away and Saturday 10 October is a make-up working day.
PINNED_NOW = "2026-09-28T09:30:00+08:00"


@pytest.fixture(scope="session")
def callback_sink():
    """Where the REST channel pushes later messages (agent replies, decisions)."""
    from tests.callback_sink import CallbackSink

    sink = CallbackSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory, callback_sink):
    """One Rasa server and action server for all HTTP conversation tests."""
    from tests.callback_sink import SECRET
    from tests.stack import Stack

    env = {"HELPLINE_NOW": PINNED_NOW, "HELPLINE_OUTBOX_POLL": "0.2",
           "HELPLINE_REST_CALLBACK_URL": callback_sink.url, "HELPLINE_REST_CALLBACK_SECRET": SECRET}
    running = Stack(workdir=tmp_path_factory.mktemp("stack"), env_extra=env).start()
    yield running
    running.stop()


@pytest.fixture
def bank_db(tmp_path, monkeypatch):
    """A migrated, seeded SQLite bank database of its own, clock pinned to a Monday."""
    from bot.bank.seed import seed

    monkeypatch.setenv("HELPLINE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("HELPLINE_NOW", PINNED_NOW)
    seed()
    return tmp_path
