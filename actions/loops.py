"""No loops: a form step that gets nowhere twice changes how it asks.

A customer who types something a step cannot use must never get the same
question back again and again (the rate limit used to end such chats). Each
form's validator counts the answers that moved its step no further
(`form_stalls`, kept per form and step); the step's question then changes:

- first time: the question as designed (buttons);
- after one answer that got nowhere: the same choices as a numbered list, so
  a bare number answers on every channel, with narrower choices where the step
  has them;
- after two or more: the list again, with the offer of a person, worded two
  ways in turn, so no message is sent three times in a row.
"""
from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional, Sequence, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

STALLS = "form_stalls"
CONTROL_SLOTS = {"requested_slot", STALLS}
# Intents a form's step reads as an answer; anything else (a no, a question, hardship) makes
# the form step aside for the rules.
ANSWER_INTENTS = {"inform", "affirm", "nlu_fallback", "out_of_scope"}
BARE_NUMBER = re.compile(r"^\s*([0-9]{1,2})\s*[。.!！]?\s*$")
# Button payload entities that fill a slot of another name.
SLOT_OF_ENTITY = {"slot_id": "booking_slot"}
PERSON_BUTTON = {"title": "转人工客服", "payload": "/request_human"}


def earlier_value(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the latest message (Rasa's mappings may have just changed it)."""
    latest_user = max((i for i, e in enumerate(tracker.events) if e.get("event") == "user"), default=-1)
    return next((e.get("value") for e in reversed(tracker.events[:latest_user])
                 if e.get("event") == "slot" and e.get("name") == slot), None)


def _step(tracker: Tracker) -> str:
    return f"{tracker.active_loop.get('name')}/{tracker.get_slot('requested_slot')}"


def stall_level(tracker: Tracker) -> int:
    """How many answers in a row the current step has got nowhere with."""
    kept = str(tracker.get_slot(STALLS) or "")
    step, _, count = kept.rpartition(":")
    return int(count) if step == _step(tracker) and count.isdigit() else 0


def _last_buttons(tracker: Tracker) -> List[dict]:
    """The buttons of the bot's reply before the latest message, numbered across the reply."""
    replies, seen_latest = [], False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_latest:
                break
            seen_latest = True
        elif event.get("event") == "bot" and seen_latest:
            replies.insert(0, (event.get("data") or {}).get("buttons") or [])
    return [button for buttons in replies for button in buttons]


def _payload_slots(payload: str) -> Dict[str, Any]:
    if "{" not in payload:
        return {}
    entities = json.loads(payload[payload.index("{"):])
    return {SLOT_OF_ENTITY.get(name, name): value for name, value in entities.items()}


def numbered_answer(tracker: Tracker) -> Dict[str, Any]:
    """A bare number ("2") answering the numbered choices just shown, as the slots its button sets."""
    found = BARE_NUMBER.match(tracker.latest_message.get("text") or "")
    if not found:
        return {}
    shown = _last_buttons(tracker)
    position = int(found.group(1))
    return _payload_slots(shown[position - 1]["payload"]) if 1 <= position <= len(shown) else {}


class ProgressTracking:
    """Mixin for a `FormValidationAction`: counts the answers that moved the asked step no further.

    `SIDE_SLOTS` are slots a form's extractors set that are not steps of the
    form (the booking's part of the day and page); rasa_sdk would drop them.
    """

    async def _validated(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: Dict[Text, Any]) -> List[EventType]:
        """`FormValidationAction.run`, keeping the side slots the extractors set."""
        extracted = await self.get_extraction_events(dispatcher, tracker, domain)
        tracker.add_slots(extracted)
        validated = await self._extract_validation_events(dispatcher, tracker, domain)
        side = getattr(self, "SIDE_SLOTS", ())
        return [event for event in extracted if event["name"] in side] + validated

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        asked = tracker.get_slot("requested_slot")
        if asked:
            tracker.add_slots([SlotSet(name, value) for name, value in numbered_answer(tracker).items()])
        events = await self._validated(dispatcher, tracker, domain)
        if not asked or not tracker.active_loop:
            return events
        progressed = any(event.get("event") == "slot" and event["name"] not in CONTROL_SLOTS
                         and event.get("value") is not None
                         and event.get("value") != earlier_value(tracker, event["name"]) for event in events)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if progressed:
            if not stall_level(tracker):
                return events
            count = 0
        elif events or intent in ANSWER_INTENTS:
            count = stall_level(tracker) + 1
        else:
            return events  # not an answer: the form steps aside for the rules
        return [*events, SlotSet(STALLS, f"{_step(tracker)}:{count}")]


def numbered(choices: Sequence[dict]) -> str:
    return "\n".join(f"{number}. {choice['title']}" for number, choice in enumerate(choices, 1))


def ask(dispatcher: CollectingDispatcher, tracker: Tracker, choices: Sequence[dict], response: str,
        **values: Any) -> None:
    """Ask the current step: as designed, then as a numbered list, then with a person offered."""
    level = stall_level(tracker)
    if level == 0:
        dispatcher.utter_message(response=response, buttons=list(choices), **values)
        return
    listing = numbered(choices)
    if level == 1:
        dispatcher.utter_message(response="utter_form_numbered" if listing else "utter_form_rephrase",
                                 choices=listing, buttons=list(choices))
        return
    offer = "utter_form_offer_person" if level % 2 == 0 else "utter_form_offer_person_again"
    dispatcher.utter_message(response=offer, choices=listing or "", buttons=[*choices, PERSON_BUTTON])


class AskByResponse(Action):
    """Ask a step with its domain response; a customer stuck on it gets `stuck_choices` numbered."""

    RESPONSE = ""
    STEP = ""

    def name(self) -> Text:
        return f"action_ask_{self.STEP}"

    def stuck_choices(self, tracker: Tracker) -> List[dict]:
        return []

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        ask(dispatcher, tracker, self.stuck_choices(tracker) if stall_level(tracker) else [], response=self.RESPONSE)
        return []
