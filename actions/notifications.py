"""Stopping or restarting the booking reminders from the chat (退订 / 恢复提醒).

The opt-out itself lives in bot/bank/messaging/notifications.py; it only
ever holds back reminders, never a decision on the customer's own request.
"""
from __future__ import annotations

import re
from typing import List, Text

from rasa_sdk import Action
from rasa_sdk.events import EventType

from actions.identity import customer_in
from actions.resilience import database_guarded
from bot.bank.db import transaction
from bot.bank.messaging import notifications
from bot.clock import now
from bot.nlu.normalise import normalise

# What asks for the reminders back; anything else said with this intent stops them.
RESUME = re.compile(r"恢复|重新|开通|打开|开起来|再给我发|还是给我发|想要提醒|取消退订|再收到|接收|后悔")
# ...unless a negation stands just before it: 别再给我发, 不想再收到, 拒绝接收, 不需要重新提醒.
NEGATION = re.compile(r"[不别勿拒]|没必要")
NEGATION_REACH = 4


def wants_reminders(text: str) -> bool:
    """True for 恢复提醒 / 重新开通 / 还是给我发吧, False for 退订 / 别再给我发了."""
    said = normalise(text or "")
    return any(not NEGATION.search(said[max(0, found.start() - NEGATION_REACH):found.start()])
               for found in RESUME.finditer(said))


@database_guarded
class ActionManageReminders(Action):
    """Record the choice for the verified customer behind this chat, or say how to get verified."""

    def name(self) -> Text:
        return "action_manage_reminders"

    async def run(self, dispatcher, tracker, domain) -> List[EventType]:
        resume = wants_reminders(tracker.latest_message.get("text"))
        with transaction() as session:
            customer = customer_in(session, tracker)
            if customer is None:
                dispatcher.utter_message(response="utter_reminders_need_identity")
                return []
            if resume:
                notifications.opt_in(session, customer.id)
            else:
                notifications.opt_out(session, customer.id, at=now())
        dispatcher.utter_message(response="utter_reminders_resumed" if resume else "utter_reminders_stopped")
        return []
