"""The customer always hears something: the channel guard, a dead or stuck
action server, and a Rasa server restarted in the middle of a form."""
from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot import metrics
from bot.bank.profile import load_profile
from bot.channels.guard import SLOW_DOWN, Verdict, apology_text, guard
from bot.logs import conversation_id
from bot.ratelimit import LocalBuckets
from tests.callback_sink import SECRET
from tests.conftest import PINNED_NOW
from tests.conversation import Customer, bank_rows
from tests.stack import Stack

BOOKING_REQUEST = "我想预约明天去福田支行"


# --- the guard on its own -------------------------------------------------------------------

class Tracker:
    def __init__(self, paused: bool) -> None:
        self.paused = paused

    def is_paused(self) -> bool:
        return self.paused


class Agent:
    """Just enough of Rasa's agent: a tracker store with one conversation."""

    def __init__(self, paused: bool = False) -> None:
        tracker = Tracker(paused)

        class Store:
            async def retrieve(self, _sender_id):
                return tracker

        self.tracker_store = Store()


def message(text: str = "我想预约", sender: str = "guard-test") -> UserMessage:
    return UserMessage(text, CollectingOutputChannel(), sender, input_channel="rest")


def rasa_saying(*texts: str, delay: float = 0.0, fail: bool = False):
    """An on_new_message that answers `texts` after `delay` seconds (or raises)."""

    async def on_new_message(incoming: UserMessage) -> None:
        await asyncio.sleep(delay)
        if fail:
            raise RuntimeError("action server returned 500")
        for text in texts:
            await incoming.output_channel.send_response(incoming.sender_id, {"text": text})

    return on_new_message


def said(incoming: UserMessage) -> list:
    return [sent["text"] for sent in incoming.output_channel.messages]


def unlimited() -> LocalBuckets:
    return LocalBuckets(per_minute=6000, burst=100)


async def test_an_answer_in_time_passes_unchanged():
    incoming = message()
    assert await guard(rasa_saying("想约哪个网点？"), incoming, limiter=unlimited()) is Verdict.ANSWERED
    assert said(incoming) == ["想约哪个网点？"]


@pytest.mark.parametrize("fail", [False, True], ids=["silent", "raising"])
async def test_silence_or_a_failure_gets_the_apology_with_the_hotline(fail):
    incoming = message()
    before = metrics.APOLOGIES.labels("rest", "error" if fail else "empty")._value.get()
    assert await guard(rasa_saying(fail=fail), incoming, agent=Agent(), limiter=unlimited()) is Verdict.APOLOGISED
    assert said(incoming) == [apology_text()]
    assert load_profile().hotline in apology_text() and "抱歉" in apology_text()
    assert metrics.APOLOGIES.labels("rest", "error" if fail else "empty")._value.get() == before + 1


async def test_no_apology_while_an_agent_has_the_conversation():
    incoming = message("还在吗")
    assert await guard(rasa_saying(), incoming, agent=Agent(paused=True), limiter=unlimited()) is Verdict.QUIET
    assert said(incoming) == []


async def test_a_new_session_is_rightly_silent():
    incoming = message("/session_start")
    assert await guard(rasa_saying(), incoming, agent=Agent(), limiter=unlimited()) is Verdict.QUIET
    assert said(incoming) == []


async def test_a_slow_answer_gets_the_apology_in_time_and_still_arrives_later():
    incoming, late = message(), []

    async def on_late(messages):
        late.extend(messages)

    started = time.monotonic()
    verdict = await guard(rasa_saying("想约哪个网点？", delay=0.5), incoming, agent=Agent(), deadline=0.1,
                          on_late=on_late, limiter=unlimited())
    assert verdict is Verdict.APOLOGISED and time.monotonic() - started < 0.4
    assert said(incoming) == [apology_text()]
    await asyncio.sleep(0.7)
    assert said(incoming) == [apology_text(), "想约哪个网点？"]
    assert [sent["text"] for sent in late] == ["想约哪个网点？"]


async def test_over_the_rate_limit_rasa_never_sees_the_message():
    limiter, seen = LocalBuckets(per_minute=1, burst=1), []

    async def on_new_message(incoming: UserMessage) -> None:
        seen.append(incoming.text)
        await incoming.output_channel.send_response(incoming.sender_id, {"text": "好的"})

    assert await guard(on_new_message, message("一"), limiter=limiter) is Verdict.ANSWERED
    second = message("二")
    assert await guard(on_new_message, second, limiter=limiter) is Verdict.LIMITED
    assert seen == ["一"] and said(second) == [SLOW_DOWN]


async def test_log_lines_written_for_the_message_carry_its_sender():
    seen = []

    async def on_new_message(incoming: UserMessage) -> None:
        seen.append(conversation_id.get())
        await incoming.output_channel.send_response(incoming.sender_id, {"text": "好的"})

    await guard(on_new_message, message(sender="wx-42"), limiter=unlimited())
    assert seen == ["wx-42"] and conversation_id.get() is None


# --- over HTTP ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def failsoft_stack(tmp_path_factory, callback_sink):
    env = {"HELPLINE_NOW": PINNED_NOW, "HELPLINE_OUTBOX_POLL": "0.2",
           "HELPLINE_REST_CALLBACK_URL": callback_sink.url, "HELPLINE_REST_CALLBACK_SECRET": SECRET}
    running = Stack(workdir=tmp_path_factory.mktemp("failsoft"), env_extra=env).start()
    yield running
    running.stop()


def action_server(stack: Stack):
    return next(process for process in stack.processes if process.args[2] == "actions")


def timed_reply(customer: Customer, text: str) -> float:
    started = time.monotonic()
    customer.says(text)
    return time.monotonic() - started


def is_apology(customer: Customer) -> bool:
    return customer.text == apology_text()


@pytest.mark.server
def test_with_the_action_server_down_the_customer_hears_an_apology_and_can_carry_on(failsoft_stack):
    customer = Customer(failsoft_stack)
    failsoft_stack.stop_actions()
    try:
        assert timed_reply(customer, BOOKING_REQUEST) < 5
        assert is_apology(customer) and load_profile().hotline in customer.text
    finally:
        failsoft_stack.start_actions()
    said = [event.get("text") for event in failsoft_stack.tracker(customer.sender)["events"]
            if event["event"] == "user"]
    assert BOOKING_REQUEST in said, "the message is kept"
    customer.says(BOOKING_REQUEST)
    assert not is_apology(customer) and "业务" in customer.text and customer.buttons


@pytest.mark.server
def test_a_stuck_action_server_gets_an_apology_in_time_and_the_answer_later(failsoft_stack, callback_sink):
    customer = Customer(failsoft_stack)
    customer.says("你好")
    stuck = action_server(failsoft_stack)
    os.kill(stuck.pid, signal.SIGSTOP)
    try:
        assert timed_reply(customer, BOOKING_REQUEST) < 5
        assert is_apology(customer)
    finally:
        os.kill(stuck.pid, signal.SIGCONT)
    late = callback_sink.wait_for(lambda push: push["recipient_id"] == customer.sender)
    assert late["kind"] == "late_reply" and "业务" in late["messages"][0]["text"]
    customer.says('/inform{"service":"面签"}')
    assert "哪一天" in customer.text or "时段" in customer.text


@pytest.mark.server
def test_a_booking_form_survives_a_rasa_restart(failsoft_stack):
    customer = Customer(failsoft_stack)
    customer.says("我想预约去网点办业务")
    customer.says('/inform{"branch":"福田支行"}')
    customer.says('/inform{"service":"面签"}')
    customer.says("明天")
    assert "还有这些时段" in customer.text
    failsoft_stack.stop_rasa()
    failsoft_stack.start_rasa()
    customer.clicks(0)
    assert "手机" in customer.text
    customer.says("13800138001")
    customer.says(customer.latest_code())
    assert "请确认" in customer.text and "9月29日" in customer.text
    customer.says("/affirm")
    assert "预约成功" in customer.text
    assert bank_rows(failsoft_stack, "SELECT b.status, b.service FROM bookings b JOIN customers c "
                                     "ON c.id = b.customer_id WHERE c.phone = '13800138001'") == [("active", "面签")]
