"""Booking, checking, cancelling and rescheduling over the REST channel.

The stack's clock is pinned to Monday 28 September 2026, 09:30.
"""
from __future__ import annotations

import time

import pytest

from bot.bank.references import ReferenceKind, pattern
from tests.conversation import Customer, bank_rows

BOOKING_REF = pattern(ReferenceKind.BOOKING)

pytestmark = pytest.mark.server


def book_tuesday_signing(customer: Customer, phone: str) -> str:
    """Walk the booking form to the end; return the booking reference."""
    customer.says("我想预约去网点办业务")
    assert "福田支行" in customer.button_entities("branch")
    customer.says('/inform{"branch":"福田支行"}')
    assert "面签" in customer.button_entities("service")
    customer.says('/inform{"service":"面签"}')
    assert "哪一天" in customer.text
    customer.says("明天")
    assert "还有这些时段" in customer.text and customer.buttons
    customer.clicks(0)
    assert "手机" in customer.text
    customer.says(phone)
    assert customer.responses() == ["utter_code_sent", "utter_ask_otp_code"] and phone not in customer.text
    assert "只用来在这里确认您的身份" in customer.text   # the code is for this chat, never for anyone else
    customer.says(customer.latest_code())
    assert "请确认" in customer.text and "9月29日" in customer.text
    customer.says("/affirm")
    assert "预约成功" in customer.text and "请带上" in customer.text
    return BOOKING_REF.search(customer.text).group(0)


def test_booking_end_to_end_is_written_to_the_database(stack):
    customer = Customer(stack)
    reference = book_tuesday_signing(customer, "13800138001")
    rows = bank_rows(stack, "SELECT b.status, b.service, b.channel, s.day, s.booked FROM bookings b "
                            "JOIN slots s ON s.id = b.slot_id WHERE b.reference = ?", reference)
    assert rows == [("active", "面签", "rest", "2026-09-29", 1)]


def texted(stack, reference: str, count: int = 1, timeout: float = 20) -> list:
    """The development SMS sender's lines naming the reference, once the delivery loop sent `count`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [line.split("\t") for line in (stack.log("dev_notices.log") or "").splitlines() if reference in line]
        if len(lines) >= count:
            return lines
        time.sleep(0.2)
    return lines


def test_a_booking_is_texted_to_the_customer_to_keep_and_a_move_again(stack):
    customer = Customer(stack)
    reference = book_tuesday_signing(customer, "13800138005")
    [(phone, text)] = texted(stack, reference)
    assert phone == "13800138005" and "您已预约9月29日（周二）" in text and "福田支行" in text and "请带好" in text
    customer.says("我想改一下预约时间").clicks(0).says("后天").clicks(1).says("/affirm")
    assert "改好了" in customer.text
    after_move = texted(stack, reference, count=2)
    assert len(after_move) == 2 and "您已预约9月30日（周三）" in after_move[1][1]
    # The sender writes the SMS, then records it delivered: the row may lag the log by a moment.
    deadline = time.monotonic() + 30
    while (rows := bank_rows(stack, "SELECT kind, route, status FROM notifications WHERE text LIKE ? ORDER BY id",
                             f"%{reference}%")) != [("booking_confirmation", "sms", "delivered")] * 2:
        assert time.monotonic() < deadline, rows
        time.sleep(0.2)


def test_a_booking_is_listed_in_a_new_session_and_after_a_restart(stack):
    customer = Customer(stack)
    reference = book_tuesday_signing(customer, "13800138002")
    customer.says("/session_start")
    customer.says("查一下我的预约")
    assert reference in customer.text and "手机" not in customer.text
    stack.stop()
    stack.start_actions()
    stack.start_rasa()
    customer.says("我约了什么时间来着")
    assert reference in customer.text


def test_a_full_slot_offers_the_free_ones(stack):
    customer = Customer(stack)
    customer.says("帮我约福田支行的面签")
    customer.says("明天")
    bank_rows(stack, "UPDATE slots SET booked = capacity WHERE branch_id = 'futian' AND service = '面签' "
                     "AND day = '2026-09-29' AND starts_at LIKE '09:00%'")
    customer.says("上午9点")
    assert customer.sent("utter_booking_slot_at_time_full")["clock"] == "09:00"
    assert customer.buttons and not any("09:00" in button["title"] for button in customer.buttons)


def test_cancel_and_reschedule(stack):
    customer = Customer(stack)
    reference = book_tuesday_signing(customer, "13800138003")
    customer.says("我想改一下预约的时间")
    customer.clicks(0)
    customer.says("后天")
    customer.clicks(1)
    assert "改到" in customer.text
    customer.says("/affirm")
    assert "改好了" in customer.text and "9月30日" in customer.text
    customer.says("帮我把预约取消掉")
    assert reference in customer.buttons[0]["title"]
    customer.clicks(0)
    assert "已为您取消" in customer.text
    assert bank_rows(stack, "SELECT status FROM bookings WHERE reference = ?", reference) == [("cancelled",)]


def test_quitting_the_booking_form(stack):
    customer = Customer(stack)
    customer.says("我要预约")
    customer.says("算了不约了")
    assert "先不约了" in customer.text
    customer.says("你好")
    assert "想约哪个网点" not in customer.text


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("福田支行10月1号开门吗", ["不营业", "国庆节"]),
        ("罗湖支行10月10号营业吗", ["调休上班", "09:00-17:00"]),
        ("宝安支行10月1号开不开", ["10:00-15:00", "轮值"]),
        ("福田支行现在开门了吗", ["现在正在营业", "先预约再去网点"]),
    ],
)
def test_opening_hours_on_holidays_and_make_up_days(stack, question, expected):
    answer = Customer(stack).says(question).text
    for part in expected:
        assert part in answer


def test_a_question_without_a_branch_offers_districts(stack):
    customer = Customer(stack).says("你们网点几点开门")
    assert "南山区" in customer.button_entities("district")


def test_parse_reads_time_and_branch(stack):
    parse = stack.parse("帮我预约下周三下午三点去福田支行")
    entities = {e["entity"]: e for e in parse["entities"]}
    assert entities["time"]["value"] == "2026-10-07T15:00:00.000+08:00"
    assert entities["time"]["additional_info"]["grain"] == "hour"
    assert entities["branch"]["value"] == "福田支行"


def test_a_co_borrower_is_booked_into_a_different_slot(stack):
    customer = Customer(stack)
    reference = book_tuesday_signing(customer, "13800138004")
    borrower_slot = bank_rows(stack, "SELECT slot_id FROM bookings WHERE reference = ?", reference)[0][0]
    assert customer.buttons[0]["title"] == "为共同借款人另约时段"
    customer.clicks(0)
    customer.says("明天")
    assert str(borrower_slot) not in customer.button_entities("slot_id")
    customer.clicks(0)
    assert "为共同借款人预约" in customer.text
    customer.says("/affirm")
    assert "预约成功" in customer.text and "共同借款人" in customer.text
    parties = bank_rows(stack, "SELECT b.party, b.slot_id FROM bookings b JOIN customers c ON c.id = b.customer_id "
                               "WHERE c.phone = '13800138004' AND b.status = 'active' ORDER BY b.id")
    assert [party for party, _ in parties] == ["本人", "共同借款人"]
    assert parties[0][1] != parties[1][1]
