"""The fallback: a menu of what the bot can do, then a person on a repeat."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import MISSED_INTENTS, hand_off
from actions.resilience import database_guarded


def consecutive_misses(events: List[Dict[str, Any]]) -> int:
    """Count the customer's latest messages in a row that the bot missed.

    Reads user events from newest to oldest and stops at the first one the
    bot understood, so one good answer in between resets the count.
    """
    count = 0
    for event in reversed(events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent") or {}
        if intent.get("name") not in MISSED_INTENTS:
            break
        count += 1
    return count


@database_guarded
class ActionFallback(Action):
    """First miss: show the menu. Two in a row: hand over to a person."""

    def name(self) -> Text:
        return "action_fallback"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        if consecutive_misses(tracker.events) >= 2:
            dispatcher.utter_message(response="utter_misses_to_human")
            return hand_off(dispatcher, tracker)
        if tracker.latest_message.get("intent", {}).get("name") == "out_of_scope":
            dispatcher.utter_message(response="utter_out_of_scope")
        else:
            dispatcher.utter_message(response="utter_fallback")
        return []
