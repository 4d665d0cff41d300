"""The satisfaction question and its answer (rules in bot/bank/csat/surveys.py)."""
from __future__ import annotations

import re
from typing import List, Optional, Text

from rasa_sdk import Action
from rasa_sdk.events import EventType, FollowupAction, SlotSet

from actions.common import latest_entity
from actions.identity import channel_of, customer_id_for
from actions.resilience import database_guarded
from bot.bank.csat import surveys
from bot.bank.db import transaction
from bot.clock import now
from bot.nlu.normalise import normalise

LOW_SCORE = 3
NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
# Longer phrases first where one contains another (不满意 before 满意).
SCORE_WORDS = (("不满意", 1), ("不太满意", 2), ("差评", 1), ("很差", 1), ("太差", 1), ("不太行", 2),
               ("一般", 3), ("还行", 3), ("凑合", 3), ("马马虎虎", 3), ("还可以", 4),
               ("满分", 5), ("好评", 5), ("满意", 5), ("很好", 5))


def score_from(value: Optional[str]) -> Optional[int]:
    """1-5 from a button's entity or the customer's own words (五分, 4分, 还行, 差评)."""
    text = normalise(str(value or "")).strip()
    digit = re.search(r"([1-5一二三四五两])\s*分", text) or re.fullmatch(r"([1-5])", text)
    if digit:
        return NUMERALS.get(digit.group(1)) or int(digit.group(1))
    return next((score for word, score in SCORE_WORDS if word in text), None)


@database_guarded
class ActionAskCsat(Action):
    """Ask once at the natural end, unless asked today or an urgent case is open."""

    def name(self) -> Text:
        return "action_ask_csat"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        customer_id = customer_id_for(tracker)
        with transaction() as session:
            asked = surveys.ask(session, tracker.sender_id, channel_of(tracker), customer_id, at=now())
        if asked:
            dispatcher.utter_message(response="utter_csat_question")
        return []


@database_guarded
class ActionRecordCsat(Action):
    """Store the score; a low one asks what went wrong."""

    def name(self) -> Text:
        return "action_record_csat"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        score = score_from(latest_entity(tracker, "csat_score") or tracker.latest_message.get("text"))
        if score is not None:
            with transaction() as session:
                recorded = surveys.record_score(session, tracker.sender_id, score, at=now())
        if score is None or not recorded:
            dispatcher.utter_message(response="utter_csat_feedback_thanks")
            return []
        if score <= LOW_SCORE:   # the form asks (utter_ask_csat_comment)
            return [FollowupAction("csat_comment_form")]
        dispatcher.utter_message(response="utter_csat_thanks")
        return []


@database_guarded
class ActionRecordCsatComment(Action):
    """Store what went wrong. A comment that is a question (为什么App总登不上) is both: it is
    kept as the comment and then answered, rather than asking "what went wrong" once more."""

    def name(self) -> Text:
        return "action_record_csat_comment"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        with transaction() as session:
            surveys.record_comment(session, tracker.sender_id, tracker.get_slot("csat_comment") or "", at=now())
        events: List[EventType] = [SlotSet("csat_comment", None)]
        if (tracker.latest_message.get("intent") or {}).get("name") == "ask_question":
            dispatcher.utter_message(response="utter_csat_comment_question")
            return [*events, FollowupAction("action_answer_question")]
        dispatcher.utter_message(response="utter_csat_comment_thanks")
        return events
