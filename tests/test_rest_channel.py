"""HTTP conversations on the REST channel against the running servers."""
from __future__ import annotations

import uuid

import pytest

from tests.conversation import bank_rows

pytestmark = pytest.mark.server


def new_sender() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def texts(replies):
    return "\n".join(reply.get("text", "") for reply in replies)


def button_payloads(replies):
    return [button["payload"] for reply in replies for button in reply.get("buttons", [])]


def test_mobile_banking_question_gets_numbered_steps_with_the_hotline_filled_in(stack):
    replies = stack.say(new_sender(), "手机银行怎么开通")
    answer = texts(replies)
    assert "1" in answer and "2" in answer
    assert "{bank_hotline}" not in answer and "400-830-9595" in answer


def test_two_misses_in_a_row_get_the_menu_then_a_person(stack):
    bank_rows(stack, "UPDATE staff SET last_seen_at = NULL")   # no agent online (the clock is pinned)
    sender = new_sender()
    first = stack.say(sender, "🙏🙏🙏")
    assert "/book_appointment" in button_payloads(first)
    second = stack.say(sender, "今晚的足球比赛谁会赢")
    said = texts(second)
    assert "转人工" in said
    # With no agent online: a callback instead of a dead end.
    assert "回电" in said and "400-830-9595" in said


def test_an_understood_message_resets_the_fallback_count(stack):
    sender = new_sender()
    stack.say(sender, "🙏🙏🙏")
    stack.say(sender, "你好")
    again = stack.say(sender, "今晚的足球比赛谁会赢")
    # A first miss again: the menu, not the hand-over that two misses in a row get.
    assert "/book_appointment" in button_payloads(again)
    assert "连着两次" not in texts(again) and "回电" not in texts(again)


@pytest.mark.parametrize(
    "message",
    ["", "   ", "😀😀😀🙏", "\x00\x01\x07\x1b", "转账" * 5000, "\ud83d", "<script>alert(1)</script>"],
    ids=["empty", "spaces", "emoji-only", "control-chars", "10000-chars", "lone-surrogate", "html"],
)
def test_bad_input_gets_a_polite_reply_never_an_error(stack, message):
    replies = stack.say(new_sender(), message)
    assert replies, "the customer must always get an answer"
    assert all(reply.get("text") for reply in replies)
