"""Find an event's class by its type name once, not for every event.

Rasa's `Event.resolve_by_type` walks every subclass of `Event`, checking
each for being abstract, for each event it deserialises: every stored event
of the conversation on every message (the tracker store), and every event
an action returns. The answer for a type name never changes once the event
classes are imported, so it is looked up once per name. Unknown names are
not remembered and fail as in Rasa.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Optional, Text, Type

from rasa.shared.core.events import Event

from bot.serving import guard

_rasas_resolve_by_type = Event.resolve_by_type


@lru_cache(maxsize=None)
def _class_named(type_name: Text) -> Optional[Type[Event]]:
    return _rasas_resolve_by_type(type_name)


def resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """Drop-in for `Event.resolve_by_type` (same classes, same errors)."""
    try:
        return _class_named(type_name)
    except ValueError:
        if default is not None:
            return default
        raise


def _apply() -> None:
    Event.resolve_by_type = staticmethod(resolve_by_type)


PATCH = guard.Patch("event_types", _apply, mirrors={
    "rasa.shared.core.events:Event.resolve_by_type":
        "b5cf570fa7f286c7059ec73d8880528d03a78b28cf4e80285a46079c0fa65968",
})


def install() -> bool:
    return guard.install(PATCH)
