"""The fallback: the knowledge base, else the menu, then a person on a repeat.

A message the NLU could not place may still be a question a topic answers
(one staff published after the model was trained), so the knowledge base is
asked first, more strictly (bot/knowledge/routing.py). Otherwise the
customer hears that the bot did not understand, or does not know, with the
menu; the second miss in a row goes to a person.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import MISSED_INTENTS, hand_off
from actions.knowledge import TOPIC_SLOT, answer, topic_for
from actions.resilience import database_guarded


def consecutive_misses(events: List[Dict[str, Any]]) -> int:
    """Count the customer's latest messages in a row that the bot missed.

    Reads user events from newest to oldest and stops at the first one the
    bot understood, or answered from the knowledge base, so one good answer
    in between resets the count.
    """
    count, answered = 0, False
    for event in reversed(events):
        if event.get("event") == "slot" and event.get("name") == TOPIC_SLOT and event.get("value"):
            answered = True
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent") or {}
        if answered or intent.get("name") not in MISSED_INTENTS:
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
        article = await topic_for(tracker)
        if article is not None:
            return answer(dispatcher, article)
        if consecutive_misses(tracker.events) >= 2:
            dispatcher.utter_message(response="utter_misses_to_human")
            return hand_off(dispatcher, tracker)
        if tracker.latest_message.get("intent", {}).get("name") == "out_of_scope":
            dispatcher.utter_message(response="utter_dont_know")
        else:
            dispatcher.utter_message(response="utter_fallback")
        return []
