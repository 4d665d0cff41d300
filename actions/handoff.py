"""Handing the conversation to a person, or booking a callback when nobody is free.

`action_hand_off` decides the reason from what the customer just said, and
either queues the conversation for an agent (then pauses the bot, so the
customer's next messages reach the agent only) or, out of hours or with no
agent online, starts `callback_form`. The queue, the priorities and the
masking are the bank's rules in `bot.bank.handoff`.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import TOPIC_SLOT, buttons
from actions.loops import AskByResponse, ProgressTracking, ask
from actions.identity import channel_of, customer_id_for
from actions.resilience import database_guarded
from bot.bank.booking import choices
from bot.bank.db import transaction
from bot.bank.handoff import escalations as handoff
from bot.bank.masking import mask_phone
from bot.bank.profile import load_profile
from bot.clock import now
from bot.identifiers import MOBILE
from bot.nlu.normalise import normalise
from bot.wording import text_of

# Intents that mean "the bot did not understand or cannot help with that".
MISSED_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
REASON_BY_INTENT = {
    "report_lost_card": "lost_card",
    "report_fraud": "fraud",
    "express_distress": "distress",
    "request_home_service": "home_service",
    "complain": "complaint",
    "request_human": "human",
}
CALLBACK_SLOTS = ("callback_phone", "callback_window", "handoff_reason")
MOBILE_IN_TEXT = re.compile(rf"(?:\+?86)?({MOBILE})(?![0-9])")
LANDLINE = re.compile(r"(?<![0-9])(0[0-9]{2,3})[\s-]?([0-9]{7,8})(?![0-9])")
TRANSCRIPT_EVENTS = {"user": "user", "bot": "bot"}


def _user_intents(tracker: Tracker) -> List[str]:
    """Intent names of the customer's messages, newest first."""
    return [((event.get("parse_data") or {}).get("intent") or {}).get("name")
            for event in reversed(tracker.events) if event.get("event") == "user"]


def reason_of(tracker: Tracker) -> str:
    """Why the customer wants a person. A bare "转人工" takes its reason from
    what came before it: two misses (fallback) or a hardship request."""
    intents = _user_intents(tracker) or ["request_human"]
    latest = intents[0]
    if latest != "request_human":
        return REASON_BY_INTENT.get(latest, "fallback" if latest in MISSED_INTENTS else "human")
    if len(intents) > 1 and intents[1] in MISSED_INTENTS:
        return "fallback"
    return "hardship" if tracker.get_slot("hardship") else "human"


def transcript_of(tracker: Tracker) -> List[Dict[str, str]]:
    """The conversation so far as lines an agent reads (masked by bot.bank)."""
    lines = []
    for event in tracker.events:
        role = TRANSCRIPT_EVENTS.get(event.get("event"))
        if role and event.get("text"):
            lines.append({"role": role, "text": event["text"], "at": str(event.get("timestamp", ""))})
    return lines


def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """Queue for an agent and pause the bot, or, with nobody on duty, start the callback form."""
    reason, at, customer_id = reason_of(tracker), now(), customer_id_for(tracker)
    with transaction() as session:
        if handoff.agents_available(session, at=at) == 0:
            ticket = None
        else:
            ticket = handoff.open_escalation(session, tracker.sender_id, channel_of(tracker), reason,
                                             transcript_of(tracker), customer_id, at=at,
                                             topic=tracker.get_slot(TOPIC_SLOT))
    # The reason is read once: a later bare "转人工" must not inherit today's hardship.
    forget = [SlotSet("hardship", None)] if tracker.get_slot("hardship") else []
    if ticket is None:
        if reason == "distress":
            dispatcher.utter_message(response="utter_no_agent_distress")
        else:
            dispatcher.utter_message(response="utter_no_agent_offer_callback", agent_hours=load_profile().agent_hours)
        return [*forget, SlotSet("handoff_reason", reason), FollowupAction("callback_form")]
    say_queue(dispatcher, ticket)
    return [*forget, ConversationPaused()]


@database_guarded
class ActionHandOff(Action):
    def name(self) -> Text:
        return "action_hand_off"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        return hand_off(dispatcher, tracker)


def say_queue(dispatcher: CollectingDispatcher, ticket: handoff.Ticket) -> None:
    """Where the customer stands and how long it may take, in plain words."""
    ahead = ticket.position - 1
    place = text_of("utter_queue_ahead", ahead=ahead) if ahead else text_of("utter_queue_next")
    urgent = text_of("utter_queue_urgent") if ticket.priority == "urgent" else ""
    dispatcher.utter_message(response="utter_queue_position", reference=ticket.reference, urgent=urgent,
                             place=place, wait_minutes=ticket.wait_minutes)


def callback_number(text: str) -> Optional[str]:
    """A mobile (spaces, hyphens and +86 allowed) as 11 digits, or a landline as 0755-83201001."""
    mobile = MOBILE_IN_TEXT.search(re.sub(r"[\s()-]", "", text))
    if mobile:
        return mobile.group(1)
    landline = LANDLINE.search(text)
    return f"{landline.group(1)}-{landline.group(2)}" if landline else None


class ValidateCallbackForm(ProgressTracking, FormValidationAction):
    def name(self) -> Text:
        return "validate_callback_form"

    def validate_callback_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: Dict[Text, Any]) -> Dict[Text, Any]:
        number = callback_number(str(value or ""))
        if number is None:
            dispatcher.utter_message(response="utter_callback_phone_invalid")
        return {"callback_phone": number}

    def validate_callback_window(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: Dict[Text, Any]) -> Dict[Text, Any]:
        """The window in the customer's words, or 第二个 among those offered; a question asked
        here instead (你们几点上班) is answered, not written down as the window."""
        said = " ".join(str(value or "").split())
        if not said or (tracker.latest_message.get("intent") or {}).get("name") == "ask_question":
            return {"callback_window": None}
        return {"callback_window": choices.choose(normalise(said), offered_windows()) or said[:40]}


def offered_windows() -> List[str]:
    """The windows a callback can be booked in now, as the buttons say them."""
    return [text_of(f"utter_callback_window_{code}") for code in handoff.callback_windows(now())]


class ActionAskCallbackWindow(Action):
    def name(self) -> Text:
        return "action_ask_callback_window"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        windows = offered_windows()
        ask(dispatcher, tracker, "utter_ask_callback_window", buttons((window, window) for window in windows))
        return []


class ActionAskCallbackPhone(AskByResponse):
    RESPONSE, STEP = "utter_ask_callback_phone", "callback_phone"


@database_guarded
class ActionRequestCallback(Action):
    """Record the callback and say when to expect it; the hotline for anything urgent."""

    def name(self) -> Text:
        return "action_request_callback"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        phone, window = tracker.get_slot("callback_phone"), tracker.get_slot("callback_window")
        reason = tracker.get_slot("handoff_reason") or "human"
        customer_id = customer_id_for(tracker)
        with transaction() as session:
            ticket = handoff.request_callback(session, tracker.sender_id, channel_of(tracker), reason, phone,
                                              window, transcript_of(tracker), customer_id, at=now(),
                                              topic=tracker.get_slot(TOPIC_SLOT))
        dispatcher.utter_message(
            response="utter_callback_booked_distress" if reason == "distress" else "utter_callback_booked",
            reference=ticket.reference, window=window, phone=mask_phone(phone or ""))
        return [SlotSet(slot, None) for slot in CALLBACK_SLOTS]
