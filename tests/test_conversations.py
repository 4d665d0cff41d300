"""Conversation tests through Rasa: `rasa test` on the stories in tests/conversations.

Each story gives the customer's exact words; NLU must read them as the
story's intent and the dialogue policies must choose the story's actions.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.settings import export_defaults

ROOT = Path(__file__).resolve().parents[1]


def test_all_conversation_stories_pass(tmp_path):
    env = dict(os.environ)
    export_defaults(env)   # endpoints.yml's ${VAR}s
    result = subprocess.run(
        [str(Path(sys.executable).parent / "rasa"), "test", "core",
         "--model", str(ROOT / "models"), "--stories", str(ROOT / "tests" / "conversations"),
         "--out", str(tmp_path), "--no-plot"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    failed = tmp_path / "failed_test_stories.yml"
    failures = failed.read_text(encoding="utf-8") if failed.exists() else ""
    assert "story:" not in failures, failures
