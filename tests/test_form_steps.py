"""Form steps that understand answers in words and never trap a customer (in process).

The validators and questions run on saved trackers against the seeded demo
bank, clock on Monday 28 September 2026, 09:30: 福田支行 opens 09:00-17:00,
so Tuesday 29 September has more free 面签 slots than one page shows.
"""
from __future__ import annotations

from datetime import date, datetime, time

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.booking import ActionAskBookingSlot, ValidateBookingForm
from actions.deferral import ActionDeferralIntro
from actions.handoff import ActionAskCallbackWindow
from bot.bank.booking.choices import PAGE_SIZE
from bot.bank.capacity import slots as tickets
from bot.bank.db import transaction
from bot.bank.hours.timetable import find_branch
from bot.clock import SHANGHAI
from tests.trackers import domain, tracker

NOW = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)
TUESDAY = date(2026, 9, 29)


async def run(action, conversation):
    """The slots the action set (name -> value) and the messages it sent."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, conversation, domain())
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}, dispatcher.messages


def free_on(day: date, branch: str = "福田支行", service: str = "面签"):
    with transaction() as session:
        return tickets.free_slots(session, find_branch(session, branch), service, day, NOW)


def at_slot_step(said: str, intent: str = "inform", **slots):
    return tracker("booking_asked_day", said, intent, at=NOW, booking_day=TUESDAY.isoformat(),
                   requested_slot="booking_slot", **slots)


def chosen_at(said: str, intent: str = "inform", **slots):
    """At the phone step, 9:00 on Tuesday already chosen."""
    nine = free_on(TUESDAY)[0]
    return tracker("booking_asked_day", said, intent, at=NOW, booking_day=TUESDAY.isoformat(),
                   branch="福田支行", service="面签", booking_slot=str(nine.id), requested_slot="phone",
                   **slots), nine


async def test_afternoon_narrows_the_offer_and_keeps_the_day(bank_db):
    slots, _ = await run(ValidateBookingForm(), at_slot_step("下午"))
    assert slots["booking_part"] == "afternoon" and "booking_day" not in slots and "booking_slot" not in slots
    _, messages = await run(ActionAskBookingSlot(), at_slot_step("下午", booking_part="afternoon"))
    offered = [b for b in messages[0]["buttons"] if "slot_id" in b["payload"] and ":" in b["title"]]
    assert offered and all(b["title"].split()[1] >= "12:00" for b in offered)
    assert messages[0]["response"] == "utter_booking_slots_offered" and messages[0]["part"] == "下午"


async def test_a_full_day_is_paged_with_more_times_and_another_day(bank_db):
    _, messages = await run(ActionAskBookingSlot(), at_slot_step(""))
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert len(free_on(TUESDAY)) > PAGE_SIZE
    assert titles[PAGE_SIZE:] == ["更多时间", "只看上午", "只看下午", "换一天"]
    slots, _ = await run(ValidateBookingForm(), at_slot_step("还有别的时间吗"))
    assert slots["booking_page"] == "1"
    _, messages = await run(ActionAskBookingSlot(), at_slot_step("", booking_page="1"))
    assert free_on(TUESDAY)[PAGE_SIZE].id in [int(b["payload"].split('"')[3]) for b in messages[0]["buttons"][:1]]


@pytest.mark.parametrize("said, index", [("第二个", 1), ("十点那个", 2), ("10点半", 3)])
async def test_an_ordinal_or_a_time_in_words_picks_the_slot(bank_db, said, index):
    slots, _ = await run(ValidateBookingForm(), at_slot_step(said))
    assert slots["booking_slot"] == str(free_on(TUESDAY)[index].id)


async def test_any_takes_the_earliest_and_says_which(bank_db):
    slots, messages = await run(ValidateBookingForm(), at_slot_step("随便，都行"))
    assert slots["booking_slot"] == str(free_on(TUESDAY)[0].id)
    assert messages[0]["response"] == "utter_booking_took_earliest" and messages[0]["time"] == "09:00"


async def test_another_day_asks_the_day_again(bank_db):
    slots, _ = await run(ValidateBookingForm(), at_slot_step("换一天吧"))
    assert slots["booking_day"] is None


async def test_a_later_time_expression_never_changes_the_chosen_day_or_slot(bank_db):
    conversation, _ = chosen_at("下午三点吧")
    slots, _ = await run(ValidateBookingForm(), conversation)
    assert "booking_day" not in slots and "booking_slot" not in slots


async def test_a_change_of_day_keeps_the_time_when_it_is_free(bank_db):
    conversation, nine = chosen_at("改成后天")
    slots, _ = await run(ValidateBookingForm(), conversation)
    wednesday_nine = next(s for s in free_on(date(2026, 9, 30)) if s.starts_at == time(9, 0))
    assert slots["booking_day"] == "2026-09-30" and slots["booking_slot"] == str(wednesday_nine.id)


async def test_a_change_of_branch_updates_only_the_branch_and_the_slot_with_it(bank_db):
    conversation, _ = chosen_at("换到南山支行", candidates={"branch": "南山支行"})
    slots, _ = await run(ValidateBookingForm(), conversation)
    nanshan_nine = next(s for s in free_on(TUESDAY, "南山支行") if s.starts_at == time(9, 0))
    assert slots["branch"] == "南山支行" and slots["booking_slot"] == str(nanshan_nine.id)
    assert "booking_day" not in slots and "service" not in slots


async def test_a_branch_mentioned_in_a_question_is_not_a_change(bank_db):
    conversation, _ = chosen_at("南山支行远吗", "find_branch", candidates={"branch": "南山支行"})
    slots, _ = await run(ValidateBookingForm(), conversation)
    assert slots["branch"] == "福田支行"


async def test_a_new_booking_may_name_another_branch_than_the_last_one(bank_db):
    conversation = tracker("booking_asked_day", "我还想约南山支行的开户", "book_appointment",
                           candidates={"branch": "南山支行"}, branch="福田支行", requested_slot=None)
    slots, _ = await run(ValidateBookingForm(), conversation)
    assert slots["branch"] == "南山支行"


async def test_not_this_service_but_that_one(bank_db):
    conversation = tracker("booking_asked_day", "不是面签是开户", candidates={"service": "面签"},
                           service="面签", requested_slot="phone")
    slots, _ = await run(ValidateBookingForm(), conversation)
    assert slots["service"] == "开户"


async def test_a_service_in_the_customers_words(bank_db):
    conversation = tracker("booking_asked_day", "后天想去办张卡", service=None, requested_slot="service")
    slots, _ = await run(ValidateBookingForm(), conversation)
    assert slots["service"] == "开户"


async def test_an_afternoon_said_up_front_shapes_the_offer(bank_db):
    conversation = tracker("booking_asked_day", "帮我在福田支行约个后天下午的号", "book_appointment", at=NOW,
                           requested_slot=None)
    slots, _ = await run(ValidateBookingForm(), conversation)
    assert slots["booking_day"] == "2026-09-30" and slots["booking_part"] == "afternoon"


async def test_a_step_that_gets_nowhere_changes_approach_and_never_repeats_three_times(bank_db):
    """嗯 three times at the slot step: buttons, then a numbered list, then a person offered."""
    said, sent = {}, []
    for _ in range(3):
        slots, _ = await run(ValidateBookingForm(), at_slot_step("嗯", **said))
        said = {"form_stalls": slots["form_stalls"]}
        _, messages = await run(ActionAskBookingSlot(), at_slot_step("嗯", **said))
        sent.append(messages[0])
    assert [m["response"] for m in sent] == ["utter_form_numbered", "utter_form_offer_person",
                                             "utter_form_offer_person_again"]
    assert sent[0]["choices"].startswith("1. 明天9月29日（周二） 09:00")
    assert {"title": "转人工客服", "payload": "/request_human"} in sent[1]["buttons"]


async def test_a_bare_number_answers_the_numbered_list(bank_db):
    conversation = at_slot_step("3", form_stalls="booking_form/booking_slot:1")
    conversation.events.insert(-1, {"event": "bot", "text": "换个方式试试",
                                    "data": {"buttons": [{"title": "a", "payload": '/inform{"slot_id":"11"}'},
                                                         {"title": "b", "payload": '/inform{"slot_id":"12"}'},
                                                         {"title": "c", "payload": '/inform{"slot_id":"13"}'}]}})
    slots, _ = await run(ValidateBookingForm(), conversation)
    assert slots["booking_slot"] == "13"


async def test_progress_resets_the_count(bank_db):
    slots, _ = await run(ValidateBookingForm(), at_slot_step("第二个", form_stalls="booking_form/booking_slot:2"))
    assert slots["form_stalls"] == "booking_form/booking_slot:0"


async def test_other_forms_ask_differently_when_stuck(bank_db):
    stuck = tracker("callback_asked_phone", "嗯", requested_slot="callback_window",
                    form_stalls="callback_form/callback_window:1")
    _, messages = await run(ActionAskCallbackWindow(), stuck)
    assert messages[0]["response"] == "utter_form_numbered" and messages[0]["choices"].startswith("1. ")


async def test_hardship_once_said_stays_through_the_next_request(bank_db):
    slots, _ = await run(ActionDeferralIntro(), tracker("deferral_asked_day", "改还款日", "request_deferral",
                                                         hardship=True))
    assert slots["hardship"] is True
