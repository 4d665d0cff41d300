"""No loops: a form step that gets nowhere changes how it asks.

A customer who types something a step cannot use must never get the same
question back again and again (the rate limit used to end such chats). Each
form's validator counts the answers that moved its step no further
(`form_stalls`, kept per form and step); the step's question then changes:

- first time: the question as designed (buttons);
- after one answer that got nowhere: the same choices as a numbered list that
  a bare number answers (WeChat numbers every reply's buttons itself), or,
  for a step with nothing to choose from, the question in other words with an
  example (`utter_stuck_<step>`);
- after two or more: that again, followed by the offer of a person, worded two
  ways in turn, so no reply is sent three times in a row.
"""
from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional, Sequence, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_text
from bot.wording import render

STALLS = "form_stalls"
CONTROL_SLOTS = {"requested_slot", STALLS}
# Intents a form's step reads as an answer; anything else (a no, a question, hardship) makes
# the form step aside for the rules.
ANSWER_INTENTS = {"inform", "affirm", "nlu_fallback", "out_of_scope"}
# What leaves a form at once, whatever its step could read in it, in the forms whose rules
# say where to (data/rules/forms.yml, deferral.yml): hardship gets care and the debit-day
# change, a person is a person (not in the callback form: nobody is on duty). The
# satisfaction comment, which has no validator, leaves by its slot mapping (domain/csat.yml).
VALIDATED_FORMS = frozenset({"booking_form", "manage_booking_form", "deferral_form", "deferral_status_form",
                             "callback_form"})
LEAVES = {
    "report_hardship": VALIDATED_FORMS,
    "request_human": VALIDATED_FORMS - {"callback_form"},
    "request_deferral": frozenset({"booking_form", "manage_booking_form"}),
}
# ...except at the step whose answer it is: hardship is the reason a debit-day change asks for.
ANSWERS_AT = {("deferral_form", "deferral_reason"): frozenset({"report_hardship"})}
# A question the step could not use is answered by a rule, then the step is asked again.
QUESTIONS_ANSWERED = {"ask_question": frozenset({"booking_form", "manage_booking_form", "deferral_form",
                                                 "deferral_status_form", "callback_form"})}
BARE_NUMBER = re.compile(r"^\s*([0-9]{1,2})\s*[。.!！]?\s*$")
# What a yes/no button answers to a confirmation step.
INTENT_ANSWERS = {"affirm": True, "deny": False}
# The channel that numbers buttons itself (bot/channels/wechat_xml.py) and reads a bare number.
NUMBERING_CHANNELS = {"wechat"}
PERSON_OFFERS = ("utter_form_offer_person", "utter_form_offer_person_again")
# The callback form runs because nobody is on duty: the person there is the hotline's.
OFFERS_BY_FORM = {"callback_form": ("utter_form_offer_hotline", "utter_form_offer_hotline_again")}


def earlier_value(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the latest message (Rasa's mappings may have just changed it)."""
    latest_user = max((i for i, e in enumerate(tracker.events) if e.get("event") == "user"), default=-1)
    return next((e.get("value") for e in reversed(tracker.events[:latest_user])
                 if e.get("event") == "slot" and e.get("name") == slot), None)


def _intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


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


def numbered_click(tracker: Tracker) -> Optional[str]:
    """The payload of the button a bare number ("2") picks from the numbered list just shown.

    Only after a numbered list (the step is stuck): a bare "10" at the first
    question of the slot step is a time, not the tenth button."""
    found = BARE_NUMBER.match(latest_text(tracker))
    if not found or not stall_level(tracker):
        return None
    shown = _last_buttons(tracker)
    position = int(found.group(1))
    payload = shown[position - 1]["payload"] if 1 <= position <= len(shown) else ""
    answers = not payload.startswith("/") or "{" in payload or payload[1:] in INTENT_ANSWERS
    return payload if payload and answers else None  # 转人工客服 is a button to click, not an answer


def click(tracker: Tracker, domain: Dict[Text, Any], payload: str) -> List[EventType]:
    """Answer the step as the button would have: its intent and entities in the latest message,
    for the form's extractors (a slot id, a day), and the slots Rasa would have mapped from it
    (Rasa already mapped the bare number itself)."""
    step = tracker.get_slot("requested_slot")
    if not payload.startswith("/"):
        tracker.latest_message["text"] = payload  # a button that sends its words: 其他, 明天上午
        return [SlotSet(step, payload)]
    intent, _, entities = payload[1:].partition("{")
    found = json.loads("{" + entities) if entities else {}
    tracker.latest_message.update(text="", intent={"name": intent, "confidence": 1.0},
                                  entities=[{"entity": name, "value": value} for name, value in found.items()])
    if intent in INTENT_ANSWERS:
        return [SlotSet(step, INTENT_ANSWERS[intent])]
    return [SlotSet(name, value) for name, value in found.items() if name in (domain.get("slots") or {})]


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
        form, asked, intent = tracker.active_loop.get("name"), tracker.get_slot("requested_slot"), _intent(tracker)
        if form in LEAVES.get(intent, ()) and intent not in ANSWERS_AT.get((form, asked), ()):
            return []  # no slot set: the form is rejected and a rule of data/rules takes over
        payload = numbered_click(tracker) if asked else None
        if payload:
            tracker.add_slots(click(tracker, domain, payload))
        events = await self._validated(dispatcher, tracker, domain)
        if not asked or not form:
            return events
        progressed = any(event.get("event") == "slot" and event["name"] not in CONTROL_SLOTS
                         and event.get("value") is not None
                         and event.get("value") != earlier_value(tracker, event["name"]) for event in events)
        if progressed:
            if not stall_level(tracker):
                return events
            count = 0
        elif form in QUESTIONS_ANSWERED.get(intent, ()):
            dispatcher.messages.clear()  # what the step said of it is moot: the question is answered
            return []
        elif any(event["name"] not in CONTROL_SLOTS for event in events) or intent in ANSWER_INTENTS:
            count = stall_level(tracker) + 1
        else:
            return events  # not an answer: the form steps aside for the rules
        return [*events, SlotSet(STALLS, f"{_step(tracker)}:{count}")]


def numbered(choices: Sequence[dict]) -> str:
    return "\n".join(f"{number}. {choice['title']}" for number, choice in enumerate(choices, 1))


def ask(dispatcher: CollectingDispatcher, tracker: Tracker, response: str, choices: Sequence[dict] = (),
        **values: Any) -> None:
    """Ask the current step: as designed, then as a numbered list (or in other words), then with
    a person offered after it."""
    level = stall_level(tracker)
    if level == 0:
        dispatcher.utter_message(response=response, buttons=list(choices), **values)
        return
    offered = [*(render(response).get("buttons") or []), *choices]  # its own buttons too: 确认 / 不用了
    if offered:
        numbering = tracker.get_latest_input_channel() in NUMBERING_CHANNELS
        dispatcher.utter_message(response="utter_form_numbered", choices="" if numbering else numbered(offered),
                                 buttons=offered)
    else:
        dispatcher.utter_message(response=f"utter_stuck_{tracker.get_slot('requested_slot')}")
    if level >= 2:
        dispatcher.utter_message(response=OFFERS_BY_FORM.get(tracker.active_loop_name, PERSON_OFFERS)[level % 2])


class AskByResponse(Action):
    """Ask a step that has nothing to choose from with its domain response, reworded when stuck."""

    RESPONSE = ""
    STEP = ""

    def name(self) -> Text:
        return f"action_ask_{self.STEP}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        ask(dispatcher, tracker, self.RESPONSE)
        return []
