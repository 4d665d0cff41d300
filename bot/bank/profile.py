"""The bank's profile (name, hotlines, branches, services) from one editable file."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List

import yaml

from bot.settings import settings


@dataclass(frozen=True)
class BankProfile:
    """What the assistant says about the bank itself, and the bank's own rules of service."""

    name: str
    app_name: str
    hotline: str
    crisis_line: str
    agent_hours: str
    booking_horizon_days: int
    book_past_known_holidays: bool      # else bookings stop where the known holiday schedule ends
    reminder_time: time                 # the day before a booking, its reminder goes out from then
    branches: List[Dict[str, Any]]
    services: List[Dict[str, Any]]


@lru_cache(maxsize=4)
def _load(path: Path) -> BankProfile:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    bank = raw["bank"]
    return BankProfile(
        name=bank["name"],
        app_name=bank["app_name"],
        hotline=bank["hotline"],
        crisis_line=str(bank["crisis_line"]),
        agent_hours=bank["agent_hours"],
        booking_horizon_days=int(bank["booking_horizon_days"]),
        book_past_known_holidays=bool(bank.get("book_past_known_holidays", False)),
        reminder_time=time.fromisoformat(str(bank.get("reminder_time", "18:00"))),
        branches=list(raw.get("branches", [])),
        services=list(raw.get("services", [])),
    )


OTHER_SERVICE = "其他"


def what_to_bring(service: str) -> str:
    """What the customer should bring for `service`: the profile's `bring`, else that of 其他."""
    bring = {entry.get("name"): entry.get("bring") for entry in load_profile().services}
    return str(bring.get(service) or bring.get(OTHER_SERVICE) or "")


def load_profile() -> BankProfile:
    """The bank profile named by `BANK_PROFILE` (the bundled demo bank by default)."""
    return _load(Path(settings().bank_profile))


def bank_slots(profile: BankProfile | None = None) -> Dict[str, str]:
    """The slots every response may name ({bank_name}, {bank_hotline}, {crisis_line}),
    filled at session start and by anything that renders a response outside a turn."""
    profile = profile or load_profile()
    return {"bank_name": profile.name, "bank_hotline": profile.hotline, "crisis_line": profile.crisis_line}
