"""退订 and 恢复提醒 typed in the chat: the choice is stored for the verified customer behind it."""
from __future__ import annotations

import pytest

from actions.notifications import wants_reminders
from tests.conversation import Customer, bank_rows


@pytest.mark.parametrize("said, resume", [
    ("退订", False), ("预约提醒短信不用再发了", False), ("退訂預約提醒", False), ("别再给我发提醒了", False),
    ("不想再收到提醒短信", False), ("拒绝接收提醒短信", False), ("不想要提醒", False), ("不需要重新提醒", False),
    ("恢复提醒", True), ("之前退订了 现在想重新接收", True), ("取消退订", True), ("還是給我發提醒吧", True),
    ("怎么又收不到提醒了 我想要提醒", True), ("上次叫你们别发提醒 结果忘了去 还是给我发吧", True),
])
def test_the_words_say_whether_the_reminders_stop_or_come_back(said, resume):
    assert wants_reminders(said) is resume


def opted_out(stack, phone: str) -> bool:
    return bool(bank_rows(stack, "SELECT 1 FROM reminder_opt_outs o JOIN customers c ON c.id = o.customer_id "
                                 "WHERE c.phone = ?", phone))


@pytest.mark.server
def test_a_customer_unsubscribes_in_chat_after_verifying_and_can_come_back(stack):
    phone = "13512340866"
    customer = Customer(stack).says("退订提醒")
    assert customer.responses() == ["utter_reminders_need_identity"]     # nobody verified: the way to be
    customer.says("查询预约")
    assert "手机号" in customer.text
    customer.says(phone).says(customer.latest_code())
    customer.says("预约提醒别再发给我了")
    assert customer.responses() == ["utter_reminders_stopped"] and opted_out(stack, phone)
    customer.says("我还是想收到预约提醒 帮我恢复一下")
    assert customer.responses() == ["utter_reminders_resumed"] and not opted_out(stack, phone)
