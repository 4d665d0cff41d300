"""Whole conversations by simulated customers (tests/simulator.py), every form, over REST.

Each persona plays each form to its end in its own way; the test checks what
the bank database holds afterwards and that the bot never sent one reply, or
one message, three times in a row. The module has a stack of its own (its
bookings and requests must not meet the other HTTP tests'), clock pinned to
Monday 28 September 2026, 09:30: 明天 is Tuesday 29, 后天 Wednesday 30
September. Demo loans as in tests/test_deferral_http.py.
"""
from __future__ import annotations

import re
from dataclasses import fields

import pytest

from bot.bank import references
from bot.bank.references import ReferenceKind
from bot.settings import Settings
from tests.conftest import PINNED_NOW
from tests.conversation import bank_rows
from tests.simulator import CLICKER, ELDERLY, PERSONAS, SPEECH, TRADITIONAL, TYPER, Persona, SimulatedCustomer
from tests.stack import Stack

pytestmark = pytest.mark.server

BOOKING_REF = references.pattern(ReferenceKind.BOOKING)
REQUEST_REF = references.pattern(ReferenceKind.DEBIT_DAY_REQUEST)
# As many messages as the rate limit lets one customer send at once (bot/settings.py).
RATE_BURST = int({f.name: f.default for f in fields(Settings)}["rate_burst"])


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = Stack(workdir=tmp_path_factory.mktemp("simulator"), env_extra={"HELPLINE_NOW": PINNED_NOW}).start()
    yield running
    running.stop()


def booking_row(stack, reference: str) -> tuple:
    return bank_rows(stack, "SELECT b.status, br.name, b.service, s.day, substr(s.starts_at, 1, 5) FROM bookings b "
                            "JOIN slots s ON s.id = b.slot_id JOIN branches br ON br.id = s.branch_id "
                            "WHERE b.reference = ?", reference)[0]


def slot_times(customer: SimulatedCustomer) -> list:
    """The start times of the slots on the buttons shown (titles end in 还剩N个名额)."""
    return [re.search(r"([0-9]{2}:[0-9]{2})（还剩", b["title"]).group(1) for b in customer.buttons if "还剩" in b["title"]]


def identify(customer: SimulatedCustomer, phone: str) -> None:
    assert "手机" in customer.text, customer.replies
    customer.says(phone)
    customer.says(customer.latest_code())


def confirm(customer: SimulatedCustomer, done: str) -> str:
    assert "请确认" in customer.text, customer.replies
    customer.answers("确认", "确认")
    assert done in customer.text, customer.replies
    return customer.text


def book(customer: SimulatedCustomer, phone: str) -> str:
    """Each persona books in its own way; returns the booking reference."""
    persona = customer.persona
    if persona is CLICKER:
        customer.says("我想预约去网点办业务").answers("福田支行", "福田支行").answers("开户", "开户")
        customer.says("9月30号").answers("第三个", "10:00")
    elif persona is TYPER:
        customer.says("后天想去福田那边办张卡")                # 办张卡 is 开户: the service is not asked
        assert "办理什么业务" not in customer.text and slot_times(customer), customer.replies
        customer.says("下午")
        assert slot_times(customer) and min(slot_times(customer)) >= "12:00", customer.replies
        customer.says("第二个")
    elif persona is ELDERLY:
        customer.says("我要约个号").says("福田").says("开户").says("明天")
        customer.says("你们几点关门")                         # a question mid-way: answered, then back to the step
        assert any((name or "").startswith("utter_hours") for name in customer.responses()), customer.replies
        assert slot_times(customer), customer.replies
        customer.says("随便")
        assert "最早" in customer.text, customer.replies
        customer.says("改成后天")                             # changes their mind: the day only, the time kept
        assert "改成" in customer.text, customer.replies
    else:
        customer.says("帮我在南山支行约个明天上午的号，开户")
        assert slot_times(customer) and max(slot_times(customer)) < "12:00", customer.replies
        customer.says("十点那个")
    identify(customer, phone)
    return BOOKING_REF.search(confirm(customer, "预约成功")).group(0)


EXPECTED_BOOKINGS = {
    "clicker": ("active", "福田支行", "开户", "2026-09-30", "10:00"),
    "elderly": ("active", "福田支行", "开户", "2026-09-30", "09:00"),
    "traditional": ("active", "南山支行", "开户", "2026-09-29", "10:00"),
    "speech": ("active", "南山支行", "开户", "2026-09-29", "10:00"),
}


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.name)
def test_every_persona_books_an_appointment(stack, persona: Persona):
    customer = SimulatedCustomer(stack, persona=persona)
    row = booking_row(stack, book(customer, f"1370013{PERSONAS.index(persona):04d}"))
    if persona is TYPER:   # the second afternoon slot, whichever the demo bank's hours make it
        assert row[:4] == ("active", "福田支行", "开户", "2026-09-30") and row[4] > "12:00"
    else:
        assert row == EXPECTED_BOOKINGS[persona.name]
    assert customer.never_looped(), customer.replies


def test_an_afternoon_asked_for_up_front_is_what_is_offered_and_saying_it_again_never_loops(stack):
    """The issue's customer: 后天下午 at 罗湖支行, to deposit cash (存款), then 下午 again and again."""
    customer = SimulatedCustomer(stack, persona=TYPER)
    customer.says("帮我在罗湖支行约个后天下午的号，存钱")
    offered = slot_times(customer)
    assert offered and min(offered) >= "12:00" and "下午" in customer.text, customer.replies
    for _ in range(3):
        customer.says("下午")
        assert slot_times(customer) == offered, customer.replies  # the day and the choices stay
    assert any(b["payload"] == "/request_human" for b in customer.buttons), customer.replies
    customer.says("第二个")
    identify(customer, "13700139001")
    row = booking_row(stack, BOOKING_REF.search(confirm(customer, "预约成功")).group(0))
    assert row == ("active", "罗湖支行", "存款", "2026-09-30", offered[1])
    assert customer.never_looped(), customer.replies


@pytest.mark.parametrize("persona", [TYPER, ELDERLY], ids=lambda p: p.name)
def test_checking_rescheduling_and_cancelling_in_words(stack, persona: Persona):
    customer = SimulatedCustomer(stack, persona=persona)
    reference = book(customer, f"1370014{PERSONAS.index(persona):04d}")
    customer.says("查一下我的预约")
    assert reference in customer.text, customer.replies
    customer.says("我想改一下预约的时间").says("第一个")
    customer.says("明天").says("最后那个")
    assert "改到" in customer.text and "9月29日" in customer.text, customer.replies
    confirm(customer, "改好了")
    assert bank_rows(stack, "SELECT s.day FROM bookings b JOIN slots s ON s.id = b.slot_id WHERE b.reference = ?",
                     reference) == [("2026-09-29",)]
    customer.says("帮我把预约取消掉").says("第一个")
    assert "已为您取消预约" in customer.text, customer.replies
    assert bank_rows(stack, "SELECT status FROM bookings WHERE reference = ?", reference) == [("cancelled",)]
    assert customer.never_looped(), customer.replies


DEBIT_DAY_CUSTOMERS = {  # phone, how the persona names the loan, the loan's contract number
    "typer": ("13900139000", "消费贷那笔", "PC2022XF004521"),
    "traditional": ("13600136000", "尾号2468", "PC2018HL002468"),
    "speech": ("13800138001", "第二个", "PC2023XF007715"),  # the first is her husband's 房贷
}


@pytest.mark.parametrize("persona", [TYPER, TRADITIONAL, SPEECH], ids=lambda p: p.name)
def test_the_debit_day_change_in_the_customers_words(stack, persona: Persona):
    phone, loan_words, contract = DEBIT_DAY_CUSTOMERS[persona.name]
    customer = SimulatedCustomer(stack, persona=persona)
    customer.says("改还款日")
    identify(customer, phone)
    customer.says(loan_words).says("改到28号").says("第二个")      # the second reason offered: 人在外地
    customer.answers("确认提交", "确认提交")
    reference = REQUEST_REF.search(customer.text).group(0)
    assert bank_rows(stack, "SELECT r.requested_day, r.reason, r.hardship, l.contract_no FROM deferral_requests r "
                            "JOIN loans l ON l.id = r.loan_id WHERE r.reference = ?",
                     reference) == [(28, "人在外地", 0, contract)]
    assert customer.never_looped(), customer.replies


def test_hardship_in_the_middle_of_booking_gets_care_and_the_debit_day_change(stack):
    customer = SimulatedCustomer(stack, persona=ELDERLY)
    customer.says("我要约个号").says("福田")
    customer.says("我失业三个月了，房贷实在还不上")
    assert "不容易" in customer.text and "扣款日" in customer.text, customer.replies
    identify(customer, "13800138000")
    customer.says("尾号0123").says("改到20号").says("失业了")
    customer.says("确认")
    reference = REQUEST_REF.search(customer.text).group(0)
    assert bank_rows(stack, "SELECT hardship FROM deferral_requests WHERE reference = ?", reference) == [(1,)]
    customer.says("转人工")   # after the request, a person still sees a hardship case
    assert stack.tracker(customer.sender)["slots"]["handoff_reason"] == "hardship"
    assert customer.never_looped(), customer.replies


def test_a_stuck_customer_is_offered_a_person_and_never_looped_before_the_rate_limit(stack):
    customer = SimulatedCustomer(stack, persona=TYPER)
    customer.says("帮我约福田支行的面签").says("明天")
    for said in range(RATE_BURST):
        customer.says("嗯嗯")
        if said >= 1:
            assert any(b["payload"] == "/request_human" for b in customer.buttons), customer.replies
    assert customer.never_looped(), customer.replies
    third = slot_times(customer)[2]
    customer.says("3")                                   # the numbered list answered with a bare number
    assert "手机" in customer.text, customer.replies
    identify(customer, "13700139002")
    reference = BOOKING_REF.search(confirm(customer, "预约成功")).group(0)
    assert booking_row(stack, reference) == ("active", "福田支行", "面签", "2026-09-29", third)


def test_a_callback_then_the_satisfaction_question_in_words(stack):
    bank_rows(stack, "UPDATE staff SET last_seen_at = NULL")   # nobody online: the callback form
    customer = SimulatedCustomer(stack, persona=ELDERLY)
    customer.says("我要投诉，你们网点服务太差了")
    customer.says("嗯").says("13900139000")            # not a number first: asked again in other words
    windows = [b["title"] for b in customer.buttons]
    customer.says("第二个")
    assert "已经为您登记回电" in customer.text, customer.replies
    rows = bank_rows(stack, "SELECT status, callback_window FROM escalations WHERE conversation_id = ?",
                     customer.sender)
    assert rows == [("callback_requested", windows[1])]
    customer.says("谢谢")
    customer.says("还行吧").says("等的时间有点长")
    assert bank_rows(stack, "SELECT score, comment FROM csat_surveys WHERE conversation_id = ?",
                     customer.sender) == [(3, "等的时间有点长")]
    assert customer.never_looped(), customer.replies


def test_a_question_while_checking_a_request_is_answered_and_the_step_asked_again(stack):
    customer = SimulatedCustomer(stack, persona=TYPER)
    customer.says("我的延期申请审核通过没有")
    assert "手机" in customer.text, customer.replies
    customer.says("手机银行怎么开通")                        # a question at the phone step
    assert "utter_knowledge_answer" in customer.responses(), customer.replies
    assert "手机" in customer.replies[-1][-1], customer.replies   # then the step again
    identify(customer, "13800138000")
    assert "utter_deferral_list" in customer.responses(), customer.replies   # the request and its progress
    assert customer.never_looped(), customer.replies


def test_a_comment_that_is_a_question_is_kept_and_answered(stack):
    customer = SimulatedCustomer(stack, persona=ELDERLY)
    customer.says("手机银行怎么开通").says("谢谢")
    customer.answers("不满意", "不满意")
    assert "utter_ask_csat_comment" in customer.responses(), customer.replies
    customer.says("为什么我的手机银行总是登录不上")
    assert customer.responses()[0] == "utter_csat_comment_question", customer.replies
    assert customer.responses()[1] in ("utter_knowledge_answer", "utter_dont_know"), customer.replies
    [(score, comment)] = bank_rows(stack, "SELECT score, comment FROM csat_surveys WHERE conversation_id = ?",
                                   customer.sender)
    assert score == 1 and "登录不上" in comment
    assert customer.never_looped(), customer.replies
