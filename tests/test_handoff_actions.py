"""Hand-off actions in process on saved trackers (tests/data/trackers), as financial-demo does.

The reviewer's findings on the hand-off: a customer in distress hears the
crisis line at any hour (H3), "转人工" in the middle of a hardship request
keeps its high priority (H4), and no callback "within two hours" is offered
at night (H7). The bank is the seeded demo bank; nobody is at the console,
so every hand-off becomes a callback.
"""
from __future__ import annotations

from datetime import datetime

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import ActionQuitForm
from actions.handoff import ActionAskCallbackWindow, ActionHandOff, ActionRequestCallback, reason_of
from bot.bank.handoff.escalations import callback_windows
from bot.clock import SHANGHAI
from tests.trackers import domain, tracker


async def run(action, conversation):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, conversation, domain())
    return events, dispatcher.messages


def slots_set(events) -> dict:
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}


async def test_asking_for_a_person_during_a_hardship_request_keeps_its_priority(bank_db):
    conversation = tracker("deferral_asked_day", "转人工", intent="request_human", hardship=True)
    events, said = await run(ActionQuitForm(), conversation)
    assert [message["response"] for message in said] == ["utter_deferral_to_human"]
    assert "hardship" not in slots_set(events)  # the hand-off that follows still reads it
    assert reason_of(conversation) == "hardship"


async def test_the_hand_off_reads_the_hardship_flag_once(bank_db):
    events, _said = await run(ActionHandOff(), tracker("deferral_asked_day", "转人工", intent="request_human",
                                                       hardship=True))
    assert slots_set(events)["handoff_reason"] == "hardship" and slots_set(events)["hardship"] is None


async def test_quitting_a_deferral_without_asking_for_a_person_says_nothing_was_submitted(bank_db):
    events, said = await run(ActionQuitForm(), tracker("deferral_asked_day", "算了", intent="deny", hardship=True))
    assert [message["response"] for message in said] == ["utter_deferral_quit"]
    assert slots_set(events)["hardship"] is None


@pytest.mark.parametrize("at", ["2026-09-28T09:30:00+08:00", "2026-09-28T23:10:00+08:00"])
async def test_distress_with_nobody_on_duty_repeats_the_crisis_line_at_any_hour(bank_db, monkeypatch, at):
    monkeypatch.setenv("HELPLINE_NOW", at)
    events, said = await run(ActionHandOff(), tracker("deferral_asked_day", "我真的撑不下去了",
                                                      intent="express_distress"))
    assert [message["response"] for message in said] == ["utter_no_agent_distress"]
    assert slots_set(events)["handoff_reason"] == "distress"
    assert "{crisis_line}" in domain()["responses"]["utter_no_agent_distress"][0]["text"]

    callback = tracker("callback_asked_phone", "明天上午", handoff_reason="distress",
                       callback_phone="13800138000", callback_window="明天上午9:00-12:00")
    _events, said = await run(ActionRequestCallback(), callback)
    assert said[0]["response"] == "utter_callback_booked_distress" and said[0]["phone"] == "138****8000"


async def test_other_callbacks_name_the_agents_hours(bank_db):
    _events, said = await run(ActionHandOff(), tracker("callback_asked_phone", "转人工", intent="request_human"))
    assert (said[0]["response"], said[0]["agent_hours"]) == ("utter_no_agent_offer_callback", "08:00-22:00")


def at(clock: str) -> datetime:
    return datetime.fromisoformat(f"2026-09-28T{clock}:00").replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize("clock, windows", [
    ("03:00", ["today_morning", "today_afternoon", "tomorrow_morning"]),
    ("10:00", ["soon", "today_afternoon", "tomorrow_morning"]),
    ("19:30", ["soon", "tomorrow_morning", "tomorrow_afternoon"]),
    ("20:30", ["tomorrow_morning", "tomorrow_afternoon"]),
    ("23:10", ["tomorrow_morning", "tomorrow_afternoon"]),
])
def test_within_two_hours_is_offered_only_while_agents_are_on_duty_that_long(clock, windows):
    assert callback_windows(at(clock)) == windows


async def test_the_callback_question_at_night_offers_no_call_within_two_hours(bank_db, monkeypatch):
    monkeypatch.setenv("HELPLINE_NOW", "2026-09-28T23:10:00+08:00")
    _events, said = await run(ActionAskCallbackWindow(), tracker("callback_asked_phone", "好的"))
    assert said[0]["response"] == "utter_ask_callback_window"
    assert [button["title"] for button in said[0]["buttons"]] == ["明天上午9:00-12:00", "明天下午14:00-18:00"]
