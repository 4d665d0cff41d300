"""What the console reads from Rasa: a conversation's messages, and a question's intent.

The tracker store is the one place a conversation lives (the customer's
words, the bot's answers, and the agent's replies, which the channel's
delivery loop records there). The console reads it through Rasa's HTTP API
(`RASA_URL`, with `RASA_TOKEN` when Rasa runs with `--auth-token`), so it
works the same with SQLite, PostgreSQL or several Rasa servers. Every line
is masked before it leaves this module. The knowledge-base editor asks the
NLU the intent of a question the same way (`POST /model/parse`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import aiohttp

from bot.bank.masking import mask_text
from bot.settings import Settings

TIMEOUT = aiohttp.ClientTimeout(total=5)


class TranscriptUnavailable(Exception):
    """Rasa could not be reached or refused the request."""


@dataclass(frozen=True)
class Line:
    role: str          # "user", "bot" or "agent"
    text: str          # masked
    at: float          # Unix time
    agent: str = ""    # e.g. 王客服, for agent lines
    file: Optional[Dict[str, Any]] = None   # a photo or PDF sent with it: {id, name, type}

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


def _line(event: Dict[str, Any]) -> Line | None:
    text = event.get("text")
    if event.get("event") not in ("user", "bot") or not text:
        return None
    metadata = event.get("metadata") or {}
    agent = metadata.get("agent", "") if event["event"] == "bot" else ""
    role = "agent" if agent else event["event"]
    sent = metadata.get("file")
    file = {key: sent.get(key) for key in ("id", "name", "type")} if isinstance(sent, dict) else None
    return Line(role, mask_text(text), float(event.get("timestamp") or 0), agent, file)


def lines_from_events(events: List[Dict[str, Any]], since: float = 0.0) -> List[Line]:
    """User, bot and agent messages after `since`, oldest first, masked."""
    lines = (_line(event) for event in events)
    return [line for line in lines if line is not None and line.at > since]


async def _rasa(config: Settings, method: str, path: str, **kwargs: Any) -> Dict[str, Any]:
    params = {**kwargs.pop("params", {}), **({"token": config.rasa_token} if config.rasa_token else {})}
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
            async with session.request(method, config.rasa_url.rstrip("/") + path, params=params,
                                       **kwargs) as response:
                if response.status != 200:
                    raise TranscriptUnavailable(f"Rasa answered {response.status}")
                return await response.json()
    except (aiohttp.ClientError, TimeoutError) as error:
        raise TranscriptUnavailable(str(error)) from error


async def conversation_lines(config: Settings, conversation_id: str, since: float = 0.0) -> List[Line]:
    """The conversation's messages after `since` (Unix time), fetched from Rasa."""
    tracker = await _rasa(config, "GET", f"/conversations/{quote(conversation_id, safe='')}/tracker",
                          params={"include_events": "ALL"})
    return lines_from_events(tracker.get("events") or [], since)


async def intent_of(config: Settings, text: str) -> str:
    """The intent Rasa's NLU gives `text` (raises TranscriptUnavailable when Rasa is away)."""
    parse = await _rasa(config, "POST", "/model/parse", json={"text": text})
    return (parse.get("intent") or {}).get("name") or ""
