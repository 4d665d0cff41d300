"""A customer simulator: personas that play whole conversations over the REST channel.

The conversation tests answer with the phrasings the forms expect; real
customers click, type, shorten, change their mind, write traditional
characters or dictate. A `Persona` says what it means in its own way; a
`SimulatedCustomer` talks to the running stack as that persona, keeps every
reply and can tell whether the bot ever sent one reply, or one message, three
times in a row (a loop that traps the customer).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, List, Optional, Sequence, Tuple

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
    # Every reply of the bot, one tuple of message texts per customer message.
    replies: List[Tuple[str, ...]] = field(default_factory=list)

    def says(self, message: str) -> "SimulatedCustomer":
        """Say `message` in the persona's own way (a button's payload is sent as it is)."""
        super().says(message if message.startswith("/") else self.persona.writes(message))
        self.replies.append(tuple(reply.get("text", "") for reply in self.last))
        return self

    def answers(self, typed: str, button: Optional[str] = None) -> "SimulatedCustomer":
        """Click the button whose title holds `button` when the persona clicks and one is shown; else type."""
        shown = next((b for b in self.buttons if button and button in b["title"]), None)
        if self.persona.clicks and shown:
            return self.says(shown["payload"])
        return self.says(typed)

    def longest_repeat(self) -> int:
        """The most times in a row the bot sent one reply, or one message, whatever the customer
        said in between: a customer going round in circles."""
        messages = [text for reply in self.replies for text in reply]
        return max(_longest_run(self.replies), _longest_run(messages))

    def never_looped(self) -> bool:
        return self.longest_repeat() < LOOP


def _longest_run(items: Sequence) -> int:
    longest, run, previous = 0, 0, object()
    for item in items:
        run = run + 1 if item == previous else 1
        previous, longest = item, max(longest, run)
    return longest
