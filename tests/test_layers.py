"""The layers import only downwards (docs/architecture.md).

The bank's rules import nothing from the NLU, the channels, the console or
Rasa; the NLU imports nothing of the bank (its vocabulary arrives as
training data); serving depends on no concrete NLU component; and the
staff console runs without Rasa at all, so it can live on a supported
Python and aiohttp while Rasa stays on its own pins.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "bot/bank": ("bot.nlu", "bot.channels", "bot.desk", "bot.serving", "bot.insights", "actions", "rasa", "rasa_sdk"),
    "bot/nlu": ("bot.bank", "bot.channels", "bot.desk", "bot.insights", "actions"),
    "bot/serving": ("bot.nlu", "bot.bank", "bot.desk", "actions"),
    "bot/desk": ("bot.channels", "bot.serving", "actions", "rasa", "rasa_sdk"),
    "bot/insights": ("bot.channels", "bot.desk", "bot.serving", "actions", "rasa", "rasa_sdk"),
}


def imports(package: str) -> Iterator[Tuple[Path, str]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield path, node.module
            elif isinstance(node, ast.Import):
                yield from ((path, alias.name) for alias in node.names)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(package):
    crossing = [f"{path.relative_to(ROOT)} imports {module}" for path, module in imports(package)
                if any(module == banned or module.startswith(banned + ".") for banned in FORBIDDEN[package])]
    assert crossing == []


def test_the_staff_console_starts_without_rasa():
    probe = ("import sys, bot.desk.app, bot.desk.__main__; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rasa', 'rasa_sdk', 'sanic', 'tensorflow')))")
    found = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


def test_the_bank_knows_nothing_of_the_knowledge_base_matcher():
    """The matcher (scikit-learn, the sentence encoder) sits above the bank, which only stores topics."""
    assert [module for _path, module in imports("bot/bank") if module.startswith("bot.knowledge")] == []
