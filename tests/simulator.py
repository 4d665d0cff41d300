"""A customer simulator: personas that play whole conversations over the REST channel.

The conversation tests answer with the phrasings the forms expect; real
customers click, type, shorten, change their mind, write traditional
characters or dictate. A `Persona` says what it means in its own way; a
`SimulatedCustomer` talks to the running stack as that persona, keeps the
whole transcript and can tell whether the bot ever sent one message three
times in a row (a loop that traps the customer).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, List, Optional, Tuple

import opencc

from tests.conversation import Customer

LOOP = 3
PUNCTUATION = re.compile(r"[，。！？、,.!?；;：:“”\"]")


@lru_cache(maxsize=1)
def _to_traditional() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def as_typed(text: str) -> str:
    return text


def in_traditional(text: str) -> str:
    """A customer in Hong Kong or Taiwan: the same words in traditional characters."""
    return _to_traditional().convert(text)


def as_dictated(text: str) -> str:
    """What a speech recogniser writes: no punctuation, a filler word in front."""
    return "嗯" + PUNCTUATION.sub("", text)


@dataclass(frozen=True)
class Persona:
    """How one kind of customer answers: clicking when a button fits, and in which script."""

    name: str
    clicks: bool = False
    writes: Callable[[str], str] = as_typed


CLICKER = Persona("clicker", clicks=True)
TYPER = Persona("typer")
ELDERLY = Persona("elderly")
TRADITIONAL = Persona("traditional", writes=in_traditional)
SPEECH = Persona("speech", writes=as_dictated)
PERSONAS = (CLICKER, TYPER, ELDERLY, TRADITIONAL, SPEECH)


@dataclass
class SimulatedCustomer(Customer):
    persona: Persona = TYPER
    transcript: List[Tuple[str, str]] = field(default_factory=list)

    def says(self, message: str) -> "SimulatedCustomer":
        """Say `message` in the persona's own way (a button's payload is sent as it is)."""
        said = message if message.startswith("/") else self.persona.writes(message)
        self.transcript.append(("customer", said))
        super().says(said)
        self.transcript.extend(("bot", reply.get("text", "")) for reply in self.last)
        return self

    def answers(self, typed: str, button: Optional[str] = None) -> "SimulatedCustomer":
        """Click the button whose title holds `button` when the persona clicks and one is shown; else type."""
        shown = next((b for b in self.buttons if button and button in b["title"]), None)
        if self.persona.clicks and shown:
            return self.says(shown["payload"])
        return self.says(typed)

    def longest_repeat(self) -> int:
        """The most times one bot message was sent in a row, whatever the customer said between."""
        longest, run, previous = 0, 0, None
        for who, text in self.transcript:
            if who != "bot":
                continue
            run = run + 1 if text == previous else 1
            previous, longest = text, max(longest, run)
        return longest

    def never_looped(self) -> bool:
        return self.longest_repeat() < LOOP
