"""The forms' validators run in process on saved trackers: no Rasa server, no trained model.

Each test takes a conversation saved at a form step (tests/data/trackers),
adds what the customer just said, runs the validation action with a
`CollectingDispatcher` and checks the slot events it returns and what it
said. The bank is the seeded demo bank with the clock on Monday 28
September 2026, 09:30 (National Day is 1-7 October).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.booking import ValidateBookingForm
from actions.deferral import ValidateDeferralForm
from actions.handoff import ValidateCallbackForm
from bot.bank.db import transaction
from bot.bank.customers.identity import link
from bot.clock import SHANGHAI
from tests.trackers import domain, tracker

NOW = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)


async def validate(action, conversation) -> tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """The slots the validator set (name -> value) and the messages it sent:
    each names its response (`response`) and carries the values that fill it."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, conversation, domain())
    slots = {event["name"]: event["value"] for event in events if event.get("event") == "slot"}
    return slots, dispatcher.messages


@pytest.mark.parametrize("said, day", [("后天", "2026-09-30"), ("这周五吧", "2026-10-02"), ("下周二", "2026-10-06")])
async def test_a_day_in_words_becomes_the_booking_day_when_the_branch_opens(bank_db, said, day):
    slots, texts = await validate(ValidateBookingForm(), tracker("booking_asked_day", said, at=NOW))
    if day in ("2026-10-02", "2026-10-06"):           # National Day: 福田支行 is closed
        assert slots["booking_day"] is None and texts[0]["response"] == "utter_booking_day_closed"
        assert "国庆" in texts[0]["hours"]
    else:
        assert slots["booking_day"] == day and texts == []


async def test_an_impossible_date_is_asked_again_never_guessed(bank_db):
    slots, texts = await validate(ValidateBookingForm(), tracker("booking_asked_day", "2月30号", at=NOW))
    assert slots["booking_day"] is None and texts[0]["response"] == "utter_booking_day_unreadable"


async def test_a_day_past_the_booking_horizon_is_refused_with_the_reason(bank_db):
    slots, texts = await validate(ValidateBookingForm(), tracker("booking_asked_day", "10月30号", at=NOW))
    assert slots["booking_day"] is None and texts[0]["response"] == "utter_booking_day_too_far"
    assert texts[0]["horizon_days"] == 14


async def test_a_branch_the_bank_does_not_have_is_named_back_to_the_customer(bank_db):
    conversation = tracker("booking_asked_day", "北京分行", candidates={"branch": "北京分行"}, requested_slot="branch")
    slots, texts = await validate(ValidateBookingForm(), conversation)
    assert slots["branch"] is None
    assert (texts[0]["response"], texts[0]["branch"]) == ("utter_booking_branch_unknown", "北京分行")


async def test_a_service_the_branch_does_not_offer_clears_the_branch_not_the_service(bank_db):
    conversation = tracker("booking_asked_day", "面签", candidates={"service": "面签"}, requested_slot="service",
                           branch="罗湖支行")
    slots, texts = await validate(ValidateBookingForm(), conversation)
    assert slots == {"service": "面签", "branch": None}
    assert (texts[0]["response"], texts[0]["branch"]) == ("utter_booking_branch_lacks_service", "罗湖支行")


@pytest.fixture
def verified_borrower(bank_db):
    """陈志明 (13800138000, the demo mortgage's borrower) has proved his phone on this channel."""
    with transaction() as session:
        link(session, "13800138000", "rest", "in-process-2", NOW)


@pytest.mark.parametrize("day, refusal", [("30", "utter_deferral_day_out_of_range"), ("5", None)])
async def test_the_debit_day_rule_is_explained_or_the_gain_shown(verified_borrower, day, refusal):
    conversation = tracker("deferral_asked_day", f"改到{day}号", candidates={"new_debit_day": day})
    slots, texts = await validate(ValidateDeferralForm(), conversation)
    if refusal:
        assert slots["new_debit_day"] is None and texts[0]["response"] == refusal
    else:
        assert slots["new_debit_day"] == day and texts[0]["response"] == "utter_deferral_day_gain"
        assert texts[0]["day"] == 5 and texts[0]["days_gained"] > 0


@pytest.mark.parametrize("said, phone", [("138 0013 8000", "13800138000"), ("+86 139-0013-9000", "13900139000"),
                                         ("0755-83201001", "0755-83201001"), ("123", None)])
async def test_a_callback_number_is_read_with_spaces_and_country_code(said, phone):
    slots, texts = await validate(ValidateCallbackForm(), tracker("callback_asked_phone", said,
                                                                  candidates={"callback_phone": said}))
    assert slots["callback_phone"] == phone
    assert (texts == []) == (phone is not None)
