"""Leaving a form: "算了，不约了" stops whichever form is running."""
from __future__ import annotations

from typing import List, Text

from rasa_sdk import Action
from rasa_sdk.events import ActiveLoop, EventType, SlotSet

from actions.booking import reset_form_slots
from actions.deferral import reset as reset_deferral
from actions.handoff import CALLBACK_SLOTS


class ActionQuitForm(Action):
    """"算了，不约了": stop whichever form is running and forget what it collected."""

    QUIT_RESPONSES = {"deferral_form": "utter_deferral_quit", "callback_form": "utter_callback_quit",
                      "csat_comment_form": "utter_csat_thanks", "manage_booking_form": "utter_manage_booking_quit",
                      "deferral_status_form": "utter_deferral_status_quit"}

    def name(self) -> Text:
        return "action_quit_form"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        form = tracker.active_loop_name
        to_human = (tracker.latest_message.get("intent") or {}).get("name") == "request_human"
        if to_human:
            # A person instead of the form: the hand-off that follows must still
            # read the hardship flag, so the case goes out at high priority.
            dispatcher.utter_message(response="utter_deferral_to_human" if form == "deferral_form"
                                     else "utter_form_to_human")
        else:
            dispatcher.utter_message(response=self.QUIT_RESPONSES.get(form, "utter_booking_quit"))
        # Giving up is the end of the hardship request too; a person asked for must still read it.
        return [*forget_form(), *([] if to_human else [SlotSet("hardship", None)])]


def forget_form() -> List[EventType]:
    """End the running form and clear every form's answers; the hardship flag stays (actions/deferral.py)."""
    return [ActiveLoop(None), SlotSet("requested_slot", None), *reset_form_slots(), *reset_deferral(),
            *(SlotSet(slot, None) for slot in CALLBACK_SLOTS)]


class ActionLeaveForm(Action):
    """Hardship or the debit-day change in the middle of another form: leave it without a word,
    so the care that follows is the first thing the customer hears."""

    def name(self) -> Text:
        return "action_leave_form"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        return forget_form()
