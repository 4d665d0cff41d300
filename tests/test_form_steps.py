"""Form steps that understand answers in words and never trap a customer (in process).

The validators and questions run on saved trackers against the seeded demo
bank, clock on Monday 28 September 2026, 09:30: 福田支行 opens 09:00-17:00,
so Tuesday 29 September has more free 面签 slots than one page shows.
"""
from __future__ import annotations

from datetime import date, datetime, time

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.booking import (
    ActionAskBookingConfirmed, ActionAskBookingFormBookingDay, ActionAskBookingSlot, ValidateBookingForm,
)
from actions.deferral import ActionDeferralIntro, ValidateDeferralForm
from actions.forms import ActionQuitForm
from actions.handoff import ActionAskCallbackPhone, ActionAskCallbackWindow, ValidateCallbackForm, offered_windows
from actions.identity import ActionAskPhone
from bot.bank.booking.choices import PAGE_SIZE
from bot.bank.capacity import slots as tickets
from bot.bank.customers.identity import link
from bot.bank.db import transaction
from bot.bank.hours.timetable import all_branches, find_branch
from bot.clock import SHANGHAI
from tests.trackers import domain, tracker

NOW = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)
TUESDAY = date(2026, 9, 29)


async def run(action, conversation):
    """The slots the action set (name -> value) and the messages it sent."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, conversation, domain())
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}, dispatcher.messages


@pytest.fixture
def verified_borrower(bank_db):
    """陈志明 (13800138000, the demo mortgage's borrower) has proved his phone on this channel."""
    with transaction() as session:
        link(session, "13800138000", "rest", "in-process-2", NOW)


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
    assert messages[0]["response"] == "utter_ask_booking_slot" and messages[0]["part"] == "下午"


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
    """嗯 again and again at the slot step: a numbered list, then a person offered after it,
    in two wordings by turns, so no reply is the same three times in a row."""
    said, replies = {}, []
    for _ in range(4):
        slots, _ = await run(ValidateBookingForm(), at_slot_step("嗯", **said))
        said = {"form_stalls": slots["form_stalls"]}
        _, messages = await run(ActionAskBookingSlot(), at_slot_step("嗯", **said))
        replies.append(messages)
    assert [[m["response"] for m in reply] for reply in replies] == [
        ["utter_form_numbered"], ["utter_form_numbered", "utter_form_offer_person"],
        ["utter_form_numbered", "utter_form_offer_person_again"], ["utter_form_numbered", "utter_form_offer_person"]]
    assert replies[0][0]["choices"].startswith("1. 明天9月29日（周二） 09:00")


async def test_on_wechat_the_channel_numbers_the_buttons(bank_db):
    conversation = at_slot_step("嗯", form_stalls="booking_form/booking_slot:1")
    conversation.events[-1]["input_channel"] = "wechat"
    _, messages = await run(ActionAskBookingSlot(), conversation)
    assert messages[0]["response"] == "utter_form_numbered" and messages[0]["choices"] == ""
    assert messages[0]["buttons"]


def shown_numbered(conversation, payloads):
    """The numbered list the bot showed just before the customer's latest message."""
    conversation.events.insert(-1, {"event": "bot", "text": "我换个方式问您",
                                    "data": {"buttons": [{"title": str(n), "payload": payload}
                                                         for n, payload in enumerate(payloads, 1)]}})
    return conversation


async def test_a_bare_number_answers_the_numbered_list(bank_db):
    third = free_on(TUESDAY)[2]
    payloads = [f'/inform{{"slot_id":"{s.id}"}}' for s in free_on(TUESDAY)[:3]]
    conversation = shown_numbered(at_slot_step("3", form_stalls="booking_form/booking_slot:1"), payloads)
    slots, _ = await run(ValidateBookingForm(), conversation)
    assert slots["booking_slot"] == str(third.id)


async def test_a_bare_number_picks_more_times_from_the_numbered_list(bank_db):
    conversation = shown_numbered(at_slot_step("2", form_stalls="booking_form/booking_slot:1"),
                                  ['/inform{"slot_id":"1"}', '/inform{"slot_id":"more"}'])
    slots, _ = await run(ValidateBookingForm(), conversation)
    assert slots["booking_page"] == "1" and "booking_slot" not in slots


async def test_a_bare_number_before_any_numbered_list_is_not_a_button(bank_db):
    payloads = [f'/inform{{"slot_id":"{s.id}"}}' for s in free_on(TUESDAY)[:3]]
    slots, _ = await run(ValidateBookingForm(), shown_numbered(at_slot_step("3"), payloads))
    assert "booking_slot" not in slots


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


async def test_hardship_leaves_the_booking_form_whatever_its_step_could_read(bank_db):
    """房贷 is no service to book and 三个月 no day: the form is rejected, the rules give care."""
    conversation = tracker("booking_asked_day", "我失业三个月了，房贷实在还不上", "report_hardship", at=NOW,
                           candidates={"service": "提前还款"})
    dispatcher = CollectingDispatcher()
    assert await ValidateBookingForm().run(dispatcher, conversation, domain()) == []
    assert dispatcher.messages == []


async def test_hardship_given_as_the_reason_is_cared_for_and_flagged(verified_borrower):
    conversation = tracker("deferral_asked_day", "失业了", "report_hardship", requested_slot="deferral_reason",
                           new_debit_day="20", candidates={"deferral_reason": "失业了"})
    slots, messages = await run(ValidateDeferralForm(), conversation)
    assert slots["deferral_reason"] == "失业了" and slots["hardship"] is True
    assert [m["response"] for m in messages] == ["utter_deferral_reason_hardship"]


async def test_a_reason_by_its_position_among_those_offered(verified_borrower):
    conversation = tracker("deferral_asked_day", "第二个", requested_slot="deferral_reason", new_debit_day="20",
                           candidates={"deferral_reason": "第二个"})
    slots, _ = await run(ValidateDeferralForm(), conversation)
    assert slots["deferral_reason"] == "人在外地"


@pytest.mark.parametrize("said, stored", [("老公生病住院了", "身体原因"), ("在外地回不来", "人在外地"),
                                          ("别的原因", "其他原因"), ("孩子上学要用钱", "孩子上学要用钱")])
async def test_a_reason_in_words_is_stored_as_the_reason_it_names(verified_borrower, said, stored):
    """Staff count by the offered reasons, so typed words that name one are stored as it; others as typed."""
    conversation = tracker("deferral_asked_day", said, requested_slot="deferral_reason", new_debit_day="20",
                           candidates={"deferral_reason": said})
    slots, _ = await run(ValidateDeferralForm(), conversation)
    assert slots["deferral_reason"] == stored


@pytest.mark.parametrize("said", ["房贷那笔", "第一个", "最后那个"])
async def test_a_loan_in_words(verified_borrower, said):
    conversation = tracker("deferral_asked_day", said, requested_slot="loan_ref", loan_ref=None,
                           candidates={"loan_ref": said})
    slots, _ = await run(ValidateDeferralForm(), conversation)
    assert slots["loan_ref"] == "PC2020HL000123"   # 陈志明 has one loan


async def test_a_callback_window_by_its_position_and_a_question_never_taken_for_one(bank_db):
    offered = offered_windows()
    by_position = tracker("callback_asked_phone", "第二个", requested_slot="callback_window",
                          candidates={"callback_window": "第二个"})
    chosen, _ = await run(ValidateCallbackForm(), by_position)
    assert chosen["callback_window"] == offered[1]
    question = tracker("callback_asked_phone", "你们客服几点上班", "ask_question", requested_slot="callback_window",
                       candidates={"callback_window": "你们客服几点上班"})
    dispatcher = CollectingDispatcher()
    assert await ValidateCallbackForm().run(dispatcher, question, domain()) == []   # answered by a rule


async def test_a_stuck_confirmation_is_numbered_and_a_bare_number_answers_it(bank_db):
    stuck = "booking_form/booking_confirmed:1"
    nine = free_on(TUESDAY)[0]
    asked = tracker("booking_asked_day", "嗯", requested_slot="booking_confirmed", booking_day=TUESDAY.isoformat(),
                    booking_slot=str(nine.id), form_stalls=stuck)
    _, messages = await run(ActionAskBookingConfirmed(), asked)
    assert messages[0]["response"] == "utter_form_numbered" and messages[0]["choices"] == "1. 确认\n2. 不用了"
    answered = shown_numbered(tracker("booking_asked_day", "1", requested_slot="booking_confirmed",
                                      booking_day=TUESDAY.isoformat(), booking_slot=str(nine.id), form_stalls=stuck),
                              ["/affirm", "/deny"])
    slots, _ = await run(ValidateBookingForm(), answered)
    assert slots["booking_confirmed"] is True


async def test_a_step_with_nothing_to_choose_is_asked_in_other_words_then_a_person_offered(bank_db):
    def at_phone(level):
        return tracker("booking_asked_day", "嗯", requested_slot="phone", form_stalls=f"booking_form/phone:{level}")
    replies = [[m["response"] for m in (await run(ActionAskPhone(), at_phone(level)))[1]] for level in range(4)]
    assert replies == [["utter_ask_phone"], ["utter_stuck_phone"], ["utter_stuck_phone", "utter_form_offer_person"],
                       ["utter_stuck_phone", "utter_form_offer_person_again"]]


async def test_asking_for_a_person_in_the_booking_form_keeps_the_hardship_flag(bank_db):
    events = await ActionQuitForm().run(CollectingDispatcher(), tracker("booking_asked_day", "转人工", "request_human",
                                                                        hardship=True), domain())
    assert "hardship" not in {e["name"] for e in events if e.get("event") == "slot"}


@pytest.mark.parametrize("said, intent", [("算了不改了", "deny"), ("提前还款要违约金吗", "ask_question")])
async def test_a_no_or_a_question_is_no_stalled_answer_so_the_rules_take_it(verified_borrower, said, intent):
    conversation = tracker("deferral_asked_day", said, intent, requested_slot="loan_ref", loan_ref=None)
    slots, _ = await run(ValidateDeferralForm(), conversation)
    assert set(slots) <= {"requested_slot"}   # Rasa rejects the form: quitting, or the answer and back


async def test_a_branch_and_a_service_by_their_position_among_the_buttons(bank_db):
    with transaction() as session:
        second = [b.name for b in all_branches(session)][1]
        futian_services = list(find_branch(session, "福田支行").services)
    branch = tracker("booking_asked_day", "第二个", branch=None, service=None, requested_slot="branch",
                     candidates={"branch": "第二个"})
    slots, _ = await run(ValidateBookingForm(), branch)
    assert slots["branch"] == second
    service = tracker("booking_asked_day", "最后那个", service=None, requested_slot="service")
    slots, _ = await run(ValidateBookingForm(), service)
    assert slots["service"] == futian_services[-1]


async def test_a_bare_number_picks_a_day_from_the_numbered_days(bank_db):
    stuck = "booking_form/booking_day:1"
    _, messages = await run(ActionAskBookingFormBookingDay(), tracker("booking_asked_day", "嗯", form_stalls=stuck))
    days = messages[0]["buttons"]
    assert messages[0]["response"] == "utter_form_numbered" and days
    conversation = shown_numbered(tracker("booking_asked_day", "2", form_stalls=stuck), [b["payload"] for b in days])
    slots, _ = await run(ValidateBookingForm(), conversation)
    assert slots["booking_day"] == days[1]["payload"].split('"')[3][:10]


async def test_a_stuck_callback_offers_the_hotline_not_a_person_nobody_on_duty_could_be(bank_db):
    stuck = tracker("callback_asked_phone", "嗯", form_stalls="callback_form/callback_phone:2")
    _, messages = await run(ActionAskCallbackPhone(), stuck)
    assert [m["response"] for m in messages] == ["utter_stuck_callback_phone", "utter_form_offer_hotline"]
