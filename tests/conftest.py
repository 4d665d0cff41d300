"""Shared fixtures: the running stack and the project's data files."""
from __future__ import annotations

import pytest

from tests.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """One Rasa server and action server for all HTTP conversation tests."""
    running = Stack(workdir=tmp_path_factory.mktemp("stack")).start()
    yield running
    running.stop()
