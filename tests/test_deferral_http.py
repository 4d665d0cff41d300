"""Deferral requests over the REST channel, checked in the bank database.

The stack's clock is pinned to Monday 28 September 2026. Demo loans:
PC2020HL000123 房贷 (陈志明 13800138000, co-borrower 林秀英 13800138001,
due 25 October) and PC2022XF004521 消费贷 (黄丽萍 13900139000, single
borrower, due 10 October).
"""
from __future__ import annotations


import pytest

from bot.bank.debit_day import review
from bot.bank.db import transaction
from bot.bank.debit_day.notify import notify_decision
from bot.bank.references import ReferenceKind, pattern
from bot.clock import now
from tests.conftest import PINNED_NOW
from tests.conversation import Customer, bank_rows

REQUEST_REF = pattern(ReferenceKind.DEBIT_DAY_REQUEST)

pytestmark = pytest.mark.server


def verified(stack, opening: str, phone: str) -> Customer:
    customer = Customer(stack).says(opening)
    assert "手机号" in customer.text
    customer.says(phone)
    customer.says(customer.latest_code())
    return customer


def request_row(stack, reference):
    return bank_rows(stack, "SELECT r.status, r.requested_day, r.new_due, r.reason, r.hardship, r.channel, l.contract_no "
                            "FROM deferral_requests r JOIN loans l ON l.id = r.loan_id WHERE r.reference = ?", reference)


def test_primary_borrower_with_a_co_borrower_waits_for_the_recorded_call(stack):
    customer = verified(stack, "我想把房贷的扣款日往后改一改", "13800138000")
    assert "尾号0123" in customer.text or any("0123" in b["title"] for b in customer.buttons)
    customer.says("尾号0123")
    assert customer.responses() == ["utter_ask_new_debit_day"]
    customer.says("改到20号")
    gain = customer.sent("utter_deferral_day_gain")
    assert (gain["current_due"], gain["new_due"], gain["days_gained"]) == ("10月25日", "11月20日", 26)
    customer.says("收入减少")
    assert customer.responses() == ["utter_ask_deferral_confirmed"]
    assert "原扣款日不变" in customer.text   # H1: nothing is moved before staff approve
    customer.says("/affirm")
    assert customer.responses() == ["utter_deferral_submitted"]
    assert "电话会录音" in customer.text and "林**" in customer.text and "400-830-9595" in customer.text
    # H1: until approval the original date stands, and the extra days carry interest
    assert "原来的扣款日不变" in customer.text and "10月25日扣款之前把钱存够" in customer.text and "利息" in customer.text
    assert "不算逾期" not in customer.text and "不影响征信" not in customer.text
    reference = REQUEST_REF.search(customer.text).group(0)
    assert request_row(stack, reference) == [
        ("awaiting_confirmation", 20, "2026-11-20", "收入减少", 0, "rest", "PC2020HL000123")]


def test_single_borrower_request_is_submitted(stack):
    customer = verified(stack, "这个月的消费贷能晚点扣吗", "13900139000")
    customer.says("尾号4521")
    customer.says("28号")
    gain = customer.sent("utter_deferral_day_gain")
    assert (gain["current_due"], gain["new_due"]) == ("10月10日", "10月28日")
    customer.says("在外地回不来")
    customer.says("/affirm")
    reference = REQUEST_REF.search(customer.text).group(0)
    assert request_row(stack, reference)[0][0] == "submitted"
    customer.says("我的申请批了没")
    assert reference in customer.text and "正在审核" in customer.text
    # Read as a question on loan applications, it still means the request just filed.
    assert stack.parse("我那个申请审核到哪一步了")["intent"]["name"] == "ask_question"
    customer.says("我那个申请审核到哪一步了")
    assert reference in customer.text and "贷款申请的进度" not in customer.text
    customer.clicks(0)
    assert customer.responses() == ["utter_deferral_cancelled"] and "已撤回" in customer.text
    assert request_row(stack, reference)[0][0] == "cancelled"


def test_a_date_from_an_earlier_hours_question_is_not_taken_as_the_debit_day(stack):
    customer = Customer(stack).says("福田支行10月1号开门吗")
    assert "国庆节" in customer.text
    customer.says("这个月的消费贷能晚点扣吗")
    customer.says("13900139000")
    customer.says(customer.latest_code())
    customer.says("尾号4521")
    assert customer.responses() == ["utter_ask_new_debit_day"]
    customer.says("改到每月1号")   # said while the deferral is under way: taken
    assert customer.sent("utter_deferral_day_gain")["day"] == 1


def test_a_staff_decision_reaches_the_customer_on_their_channel(stack, callback_sink, monkeypatch):
    customer = verified(stack, "消费贷扣款日能不能改一下", "13900139000")
    customer.says("尾号4521")
    customer.says("15号")
    customer.says("生病")
    customer.says("/affirm")
    reference = REQUEST_REF.search(customer.text).group(0)
    monkeypatch.setenv("HELPLINE_DATA_DIR", str(stack.workdir))
    monkeypatch.setenv("HELPLINE_NOW", PINNED_NOW)   # the stack's day: the debit date is still ahead
    with transaction() as session:   # what the console's reject button does
        decision = review.reject(session, reference, "李敏", "还款账户已冻结，请先到网点解冻", now())
        notify_decision(session, decision, at=now())
    push = callback_sink.wait_for(lambda p: p["recipient_id"] == customer.sender and p["kind"] == "deferral_decision")
    message = push["messages"][0]
    text = message["text"]
    assert message["metadata"]["utter_action"] == "utter_deferral_rejected"
    assert reference in text and "请先到网点解冻" in text
    # the date that still stands and a way forward for someone in hardship
    assert "下一期在" in text and "转人工" in text and "400-830-9595" in text
    said = [e.get("text") for e in stack.tracker(customer.sender)["events"] if e["event"] == "bot"]
    assert text in said                       # and the transcript keeps it


def test_a_co_borrower_is_told_kindly_and_offered_a_human(stack):
    customer = verified(stack, "房贷扣款日想改一下", "13800138001")
    customer.says("尾号0123")
    assert customer.responses() == ["utter_deferral_co_borrower"]
    assert "/request_human" in [b["payload"] for b in customer.buttons]


@pytest.mark.parametrize("day", ["29号", "30号", "31号"])
def test_days_after_the_28th_are_refused(stack, day):
    customer = verified(stack, "我要改还款日", "13700137000")
    customer.says("尾号0876")
    customer.says(f"改到{day}")
    assert customer.responses()[0] == "utter_deferral_day_out_of_range"   # then the question again


def test_a_move_of_more_than_a_month_is_refused(stack):
    customer = verified(stack, "我要改还款日", "13600136000")
    customer.says("尾号2468")
    customer.says("延到12月3号")
    assert customer.responses()[0] == "utter_deferral_day_too_far"   # then the question again


def test_wrong_last_four_digits_are_not_accepted(stack):
    customer = verified(stack, "申请延期还款", "13600136000")
    customer.says("尾号9999")
    assert customer.responses()[0] == "utter_loan_not_found"   # then the question again


def test_hardship_gets_care_first_and_is_flagged(stack):
    customer = Customer(stack).says("我失业了，实在还不起房贷")
    assert "不容易" in customer.text and "转人工" in customer.text
    customer.says("13700137000")
    customer.says(customer.latest_code())
    customer.says("尾号0876")
    customer.says("改到28号")
    customer.says("其他")
    customer.says("/affirm")
    reference = REQUEST_REF.search(customer.text).group(0)
    assert request_row(stack, reference)[0][4] == 1


def test_quitting_mid_form_submits_nothing(stack):
    customer = verified(stack, "想改下扣款日", "13800138000")
    before = bank_rows(stack, "SELECT COUNT(*) FROM deferral_requests")
    customer.says("算了不改了")
    assert customer.responses() == ["utter_deferral_quit"]
    assert bank_rows(stack, "SELECT COUNT(*) FROM deferral_requests") == before


def test_asking_for_a_person_in_a_hardship_request_keeps_it_high_priority(stack):
    """H4: "转人工" stops the form without the "nothing submitted" goodbye, and the
    hand-off still knows it is a hardship case."""
    customer = Customer(stack).says("我失业了，实在还不起房贷")
    customer.says("13700137000")
    customer.says(customer.latest_code())
    customer.says("转人工")
    assert customer.responses()[0] == "utter_deferral_to_human" and "utter_deferral_quit" not in customer.responses()
    assert stack.tracker(customer.sender)["slots"]["handoff_reason"] == "hardship"
