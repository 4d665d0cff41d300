"""The bank's profile (name, hotlines, branches) from one editable file."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List

import yaml

DEFAULT_PROFILE_PATH = Path(__file__).with_name("demo_bank.yml")


@dataclass(frozen=True)
class BankProfile:
    """What the assistant says about the bank itself."""

    name: str
    app_name: str
    hotline: str
    crisis_line: str
    agent_hours: str
    timezone: str
    branches: List[Dict[str, Any]]
    services: List[Dict[str, Any]]


def profile_path() -> Path:
    """The profile file: `BANK_PROFILE` when set, else the bundled demo bank."""
    return Path(os.environ.get("BANK_PROFILE", DEFAULT_PROFILE_PATH))


@lru_cache(maxsize=4)
def _load(path: Path) -> BankProfile:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    bank = raw["bank"]
    return BankProfile(
        name=bank["name"],
        app_name=bank["app_name"],
        hotline=bank["hotline"],
        crisis_line=str(bank["crisis_line"]),
        agent_hours=bank.get("agent_hours", "08:00-22:00"),
        timezone=bank.get("timezone", "Asia/Shanghai"),
        branches=list(raw.get("branches", [])),
        services=list(raw.get("services", [])),
    )


def load_profile() -> BankProfile:
    """The bank profile, read once per process."""
    return _load(profile_path())
