"""Conversation start: fill the bank's name and hotline into the slots."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.bank.profile import bank_slots, load_profile


class ActionSessionStart(Action):
    """Starts a session carrying slots over and naming the configured bank."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        profile = load_profile()
        carried = [
            SlotSet(key, value)
            for key, value in tracker.current_slot_values().items()
            if value is not None and key not in ("bank_name", "bank_hotline", "crisis_line")
        ]
        return [
            SessionStarted(),
            *carried,
            *(SlotSet(slot, value) for slot, value in bank_slots(profile).items()),
            ActionExecuted("action_listen"),
        ]
