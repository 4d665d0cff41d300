"""When the bank database is down, say so kindly instead of crashing.

An action that raises makes the action server answer 500; Rasa logs it and
the customer hears nothing (or, behind the channel guard, a generic
apology). `@database_guarded` on an action class catches SQLAlchemy's
database errors in its `run` (for form validation actions, the inherited
`run` that calls every `validate_*`), logs them, tells the customer the
system is busy and to try again or call the hotline, and returns no events:
slots and forms stay as they were, so trying again later simply works.

Nothing is ever half written: all writes of one step happen inside one
`bot.bank.db.transaction()`, which commits together or rolls back.

It also puts the conversation id on the action's log lines (bot/logs.py).
"""
from __future__ import annotations

import functools
import logging
from typing import Any, Dict, List, Text, Type, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.logs import conversation_id

logger = logging.getLogger(__name__)

A = TypeVar("A", bound=Type[Action])


BUSY = "utter_database_busy"


def already_said_busy(tracker: Tracker) -> bool:
    """True when the bot said it is busy since the customer's last message
    (a form's validation and its next question may both find the database down)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot" and (event.get("metadata") or {}).get("utter_action") == BUSY:
            return True
    return False


def database_guarded(action_class: A) -> A:
    """Class decorator: a database error in `run` becomes a polite "busy" message."""
    run = action_class.run

    @functools.wraps(run)
    async def guarded_run(self: Action, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: Dict[Text, Any]) -> List[EventType]:
        token = conversation_id.set(tracker.sender_id)
        try:
            return await run(self, dispatcher, tracker, domain)
        except (DBAPIError, PoolTimeout):
            logger.exception("database unavailable in %s", self.name())
            if not already_said_busy(tracker):
                dispatcher.utter_message(response=BUSY)
            return []
        finally:
            conversation_id.reset(token)

    action_class.run = guarded_run
    return action_class
