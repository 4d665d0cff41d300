"""Whole conversations by simulated customers (tests/simulator.py), every form, over REST.

Each persona plays each form to its end; the test checks what the bank
database holds afterwards and that the bot never sent one message three
times in a row. The stack's clock is pinned to Monday 28 September 2026,
09:30; demo loans as in tests/test_deferral_http.py.
"""
from __future__ import annotations

import re

import pytest

from tests.conversation import bank_rows
from tests.simulator import CLICKER, ELDERLY, PERSONAS, SPEECH, TRADITIONAL, TYPER, Persona, SimulatedCustomer

pytestmark = pytest.mark.server

REFERENCE = re.compile(r"YY[A-Z0-9]{6}")


def booking_row(stack, text: str):
    reference = REFERENCE.search(text).group(0)
    return bank_rows(stack, "SELECT b.status, br.name, b.service, s.day, s.starts_at FROM bookings b "
                            "JOIN slots s ON s.id = b.slot_id JOIN branches br ON br.id = s.branch_id "
                            "WHERE b.reference = ?", reference)[0]


def identify(customer: SimulatedCustomer, phone: str) -> None:
    assert "手机" in customer.text
    customer.says(phone)
    customer.says(customer.latest_code())


def book(customer: SimulatedCustomer, phone: str) -> tuple:
    """Each persona books in its own way; returns the booking's database row."""
    persona = customer.persona
    if persona is CLICKER:
        customer.says("我想预约去网点办业务").answers("福田支行", "福田支行").answers("开户", "开户")
        customer.says("9月30号").answers("第三个", "10:00")
    elif persona is TYPER:
        customer.says("后天想去福田那边办张卡")
        assert "下午" not in customer.text and customer.buttons
        customer.says("下午")
        assert all(b["title"].split()[-1] >= "12:00" for b in customer.buttons if "余" in b["title"])
        customer.says("第二个")
    elif persona is ELDERLY:
        customer.says("我要约个号").says("福田").says("开户").says("明天")
        customer.says("你们几点关门啊")           # a question mid-way: answered, then back to the step
        assert "还有这些时段" in customer.text or customer.buttons
        customer.says("随便")
        assert "最早" in customer.text
        customer.says("改成后天")                  # changes their mind
    else:
        customer.says("帮我在南山支行约个明天上午的号，开户")
        customer.says("十点那个")
    identify(customer, phone)
    assert "请确认" in customer.text
    customer.answers("确认", "确认")
    assert "预约成功" in customer.text
    return booking_row(customer.stack, customer.text)


EXPECTED_BOOKINGS = {
    "clicker": ("active", "福田支行", "开户", "2026-09-30", "10:00"),
    "typer": ("active", "福田支行", "开户", "2026-09-30", "13:30"),
    "elderly": ("active", "福田支行", "开户", "2026-09-30", "09:00"),
    "traditional": ("active", "南山支行", "开户", "2026-09-29", "10:00"),
    "speech": ("active", "南山支行", "开户", "2026-09-29", "10:00"),
}


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.name)
def test_every_persona_books_an_appointment(stack, persona: Persona):
    customer = SimulatedCustomer(stack, persona=persona)
    status, branch, service, day, starts = book(customer, f"1370013{PERSONAS.index(persona):04d}")
    assert (status, branch, service, day, starts[:5]) == EXPECTED_BOOKINGS[persona.name]
    assert customer.never_looped(), customer.transcript


@pytest.mark.parametrize("persona", [TYPER, ELDERLY], ids=lambda p: p.name)
def test_checking_rescheduling_and_cancelling_in_words(stack, persona: Persona):
    customer = SimulatedCustomer(stack, persona=persona)
    book(customer, f"1370014{PERSONAS.index(persona):04d}")
    reference = REFERENCE.search(customer.text).group(0)
    customer.says("查一下我的预约")
    assert reference in customer.text
    customer.says("我想改一下预约的时间").says("第一个")
    customer.says("明天").says("最后那个")
    assert "改到" in customer.text and "9月29日" in customer.text
    customer.answers("确认", "确认")
    assert "改好了" in customer.text
    assert bank_rows(stack, "SELECT s.day FROM bookings b JOIN slots s ON s.id = b.slot_id WHERE b.reference = ?",
                     reference) == [("2026-09-29",)]
    customer.says("帮我把预约取消掉").says("第一个")
    assert "已为您取消预约" in customer.text
    assert bank_rows(stack, "SELECT status FROM bookings WHERE reference = ?", reference) == [("cancelled",)]
    assert customer.never_looped(), customer.transcript


@pytest.mark.parametrize("persona", [TYPER, TRADITIONAL, SPEECH], ids=lambda p: p.name)
def test_the_debit_day_change_in_the_customers_words(stack, persona: Persona):
    customer = SimulatedCustomer(stack, persona=persona)
    customer.says("改还款日")
    identify(customer, "13900139000")
    customer.says("尾号4521").says("改到28号").says("被困外地")
    customer.answers("确认提交", "确认提交")
    reference = re.search(r"YQ[A-Z0-9]{6}", customer.text).group(0)
    assert bank_rows(stack, "SELECT requested_day, hardship FROM deferral_requests WHERE reference = ?",
                     reference) == [(28, 0)]
    assert customer.never_looped(), customer.transcript


def test_hardship_in_the_middle_of_booking_gets_care_and_the_debit_day_change(stack):
    customer = SimulatedCustomer(stack, persona=ELDERLY)
    customer.says("我要约个号").says("福田")
    customer.says("我失业三个月了，房贷实在还不上")
    assert "不容易" in customer.text and "扣款日" in customer.text
    identify(customer, "13800138000")
    customer.says("尾号0123").says("改到20号").says("失业")
    customer.says("确认")
    reference = re.search(r"YQ[A-Z0-9]{6}", customer.text).group(0)
    assert bank_rows(stack, "SELECT hardship FROM deferral_requests WHERE reference = ?", reference) == [(1,)]
    assert customer.never_looped(), customer.transcript


def test_a_customer_stuck_on_a_step_is_offered_a_person_and_never_looped(stack):
    customer = SimulatedCustomer(stack, persona=TYPER)
    customer.says("帮我约福田支行的面签").says("明天")
    for _ in range(4):
        customer.says("嗯嗯")
    assert any(b["payload"] == "/request_human" for b in customer.buttons)
    customer.says("3")
    assert "手机" in customer.text                      # the numbered list answered with a bare number
    assert customer.never_looped(), customer.transcript


def test_a_callback_then_the_satisfaction_question_in_words(stack):
    bank_rows(stack, "UPDATE staff SET last_seen_at = NULL")   # nobody online: the callback form
    customer = SimulatedCustomer(stack, persona=ELDERLY)
    customer.says("我要投诉，你们网点服务太差了")
    customer.says("嗯").says("13900139000")
    customer.says("明天上午")
    assert "已经为您登记回电" in customer.text
    rows = bank_rows(stack, "SELECT status, callback_window FROM escalations WHERE conversation_id = ?", customer.sender)
    assert rows == [("callback_requested", "明天上午")]
    customer.says("谢谢")
    customer.says("还行吧").says("等的时间有点长")
    assert bank_rows(stack, "SELECT score, comment FROM csat_surveys WHERE conversation_id = ?",
                     customer.sender) == [(3, "等的时间有点长")]
    assert customer.never_looped(), customer.transcript
