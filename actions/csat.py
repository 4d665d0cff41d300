"""The satisfaction question and its answer (rules in bot/bank/csat.py)."""
from __future__ import annotations

from typing import List, Text

from rasa_sdk import Action
from rasa_sdk.events import EventType, FollowupAction, SlotSet

from actions.common import latest_entity
from actions.identity import channel_of, customer_id_for
from actions.resilience import database_guarded
from bot.bank import csat

LOW_SCORE = 3


@database_guarded
class ActionAskCsat(Action):
    """Ask once at the natural end, unless asked today or an urgent case is open."""

    def name(self) -> Text:
        return "action_ask_csat"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        if csat.ask(tracker.sender_id, channel_of(tracker), customer_id_for(tracker)):
            message = csat.question()
            dispatcher.utter_message(text=message["text"], buttons=message["buttons"])
        return []


@database_guarded
class ActionRecordCsat(Action):
    """Store the score; a low one asks what went wrong."""

    def name(self) -> Text:
        return "action_record_csat"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        score = csat.score_from(latest_entity(tracker, "csat_score") or tracker.latest_message.get("text"))
        if score is None or not csat.record_score(tracker.sender_id, score):
            dispatcher.utter_message(text="谢谢您的反馈！还有什么需要帮忙的，随时告诉我。")
            return []
        if score <= LOW_SCORE:   # the form asks (utter_ask_csat_comment)
            return [FollowupAction("csat_comment_form")]
        dispatcher.utter_message(response="utter_csat_thanks")
        return []


@database_guarded
class ActionRecordCsatComment(Action):
    def name(self) -> Text:
        return "action_record_csat_comment"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        csat.record_comment(tracker.sender_id, tracker.get_slot("csat_comment") or "")
        dispatcher.utter_message(text="收到，谢谢您告诉我们，我们会认真改进。")
        return [SlotSet("csat_comment", None)]
