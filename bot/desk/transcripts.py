"""A conversation's messages as an agent sees them, read from Rasa.

The tracker store is the one place a conversation lives (the customer's
words, the bot's answers, and the agent's replies, which the channel's
delivery loop records there). The console reads it through Rasa's HTTP API
(`RASA_URL`, with `RASA_TOKEN` when Rasa runs with `--auth-token`), so it
works the same with SQLite, PostgreSQL or several Rasa servers. Every line
is masked before it leaves this module.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Dict, List
from urllib.parse import quote

import aiohttp

from bot.bank.masking import mask_text

TIMEOUT = aiohttp.ClientTimeout(total=5)


class TranscriptUnavailable(Exception):
    """Rasa could not be reached or refused the request."""


@dataclass(frozen=True)
class Line:
    role: str          # "user", "bot" or "agent"
    text: str          # masked
    at: float          # Unix time
    agent: str = ""    # e.g. 王客服, for agent lines

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


def rasa_url() -> str:
    return os.environ.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/")


def _line(event: Dict[str, Any]) -> Line | None:
    text = event.get("text")
    if event.get("event") not in ("user", "bot") or not text:
        return None
    agent = (event.get("metadata") or {}).get("agent", "") if event["event"] == "bot" else ""
    role = "agent" if agent else event["event"]
    return Line(role, mask_text(text), float(event.get("timestamp") or 0), agent)


def lines_from_events(events: List[Dict[str, Any]], since: float = 0.0) -> List[Line]:
    """User, bot and agent messages after `since`, oldest first, masked."""
    lines = (_line(event) for event in events)
    return [line for line in lines if line is not None and line.at > since]


async def conversation_lines(conversation_id: str, since: float = 0.0) -> List[Line]:
    """The conversation's messages after `since` (Unix time), fetched from Rasa."""
    params = {"include_events": "ALL"}
    token = os.environ.get("RASA_TOKEN")
    if token:
        params["token"] = token
    url = f"{rasa_url()}/conversations/{quote(conversation_id, safe='')}/tracker"
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            async with session.get(url, params=params) as response:
                if response.status != 200:
                    raise TranscriptUnavailable(f"Rasa answered {response.status}")
                tracker = await response.json()
    except (aiohttp.ClientError, TimeoutError) as error:
        raise TranscriptUnavailable(str(error)) from error
    return lines_from_events(tracker.get("events") or [], since)
