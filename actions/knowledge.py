"""Informational questions, answered from the knowledge base staff edit.

Rasa's NLU says whether a message is an informational question
(`ask_question`) or drives an action; which topic it asks is the
knowledge-base matcher's call (bot/knowledge), over what is published now.
A question no topic answers gets an honest "I don't know" with the ways
forward, never a confident answer to a different question.
"""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import TOPIC_SLOT, latest_text
from actions.forms import forget_form
from actions.resilience import database_guarded
from bot.bank.booking.service_words import service_in_words
from bot.bank.knowledge.topics import Article, fill
from bot.knowledge import live
from bot.knowledge.routing import accept_threshold

live.warm_up()   # the action server imports this module when it starts


# The topic on a loan application's progress (审核进度与核实电话).
REVIEW_TOPIC = "loan_review"


def filed_a_debit_day_request(tracker: Tracker) -> bool:
    """The customer filed a debit-day change in this conversation (since its last restart)."""
    return any(event.get("event") == "action" and event.get("name") == "action_submit_deferral"
               for event in tracker.events_after_latest_restart())


async def topic_for(tracker: Tracker) -> Optional[Article]:
    """The published topic that answers the customer's latest message, if one does.

    The corpus is fetched off the event loop: the process's first question
    waits for the first matcher, and other customers' turns must not."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    threshold = accept_threshold(intent)
    if threshold is None:
        return None
    corpus = await asyncio.get_running_loop().run_in_executor(None, live.current)
    match = corpus.matcher.best(tracker.latest_message.get("text") or "", threshold)
    return corpus.articles.get(match.key) if match else None


def answer(dispatcher: CollectingDispatcher, article: Article) -> List[EventType]:
    dispatcher.utter_message(response="utter_knowledge_answer", answer=fill(article.answer))
    return [SlotSet(TOPIC_SLOT, article.key)]


@database_guarded
class ActionAnswerQuestion(Action):
    """The knowledge base's answer, or "I don't know" with the ways forward."""

    def name(self) -> Text:
        return "action_answer_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        if service_in_words(latest_text(tracker)).debit_day and tracker.active_loop_name != "deferral_form":
            # 改还款日 read as a question: it is done in this chat, so it starts, whatever was going on.
            left = forget_form() if tracker.active_loop_name else []
            return [*left, SlotSet(TOPIC_SLOT, None), FollowupAction("action_deferral_intro")]
        article = await topic_for(tracker)
        if article is None:
            dispatcher.utter_message(response="utter_dont_know")
            return [SlotSet(TOPIC_SLOT, None)]
        if article.key == REVIEW_TOPIC and filed_a_debit_day_request(tracker):
            # 我的申请批了没 right after filing: the request just filed, not a loan application.
            return [SlotSet(TOPIC_SLOT, None), FollowupAction("deferral_status_form")]
        return answer(dispatcher, article)
