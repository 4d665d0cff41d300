"""A customer talking to the running stack, with helpers to read replies."""
from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from typing import List

from tests.stack import Stack


def bank_rows(stack: Stack, sql: str, *args) -> list:
    """Query the stack's bank database directly, to check what actions wrote."""
    with sqlite3.connect(stack.workdir / "bank.db") as db:
        return db.execute(sql, args).fetchall()


@dataclass
class Customer:
    stack: Stack
    sender: str = field(default_factory=lambda: f"cust-{uuid.uuid4().hex[:10]}")
    last: List[dict] = field(default_factory=list)

    def says(self, message: str) -> "Customer":
        self.last = self.stack.say(self.sender, message)
        return self

    @property
    def text(self) -> str:
        return "\n".join(reply.get("text", "") for reply in self.last)

    @property
    def buttons(self) -> List[dict]:
        return [button for reply in self.last for button in reply.get("buttons", [])]

    def _latest_bot_events(self) -> List[dict]:
        """The bot's messages since the customer's last one, as the tracker holds them."""
        events = self.stack.tracker(self.sender)["events"]
        start = max((i for i, event in enumerate(events) if event["event"] == "user"), default=-1)
        return [event for event in events[start + 1:] if event["event"] == "bot"]

    def responses(self) -> List[str]:
        """Names of the domain responses the bot answered the last message with."""
        return [(event.get("metadata") or {}).get("utter_action") for event in self._latest_bot_events()]

    def sent(self, name: str) -> dict:
        """The values response `name` was filled with in the last answer (Rasa keeps them as metadata)."""
        found = [event.get("metadata") or {} for event in self._latest_bot_events()
                 if (event.get("metadata") or {}).get("utter_action") == name]
        assert found, f"{name} not among {self.responses()}"
        return found[-1]

    def clicks(self, index: int = 0) -> "Customer":
        return self.says(self.buttons[index]["payload"])

    def button_entities(self, name: str) -> List[str]:
        """Entity values carried by the current buttons' payloads."""
        values = []
        for button in self.buttons:
            payload = button["payload"]
            if "{" in payload:
                values.append(json.loads(payload[payload.index("{"):]).get(name))
        return values

    def latest_code(self) -> str:
        """The one-time code the development sender 'texted' to this stack."""
        lines = (self.stack.workdir / "dev_sms.log").read_text(encoding="utf-8").splitlines()
        return lines[-1].split()[1]
