"""The whole hand-off loop on the REST channel, with an agent in the console.

A customer reports a stolen card → an urgent escalation with a masked
transcript exists → an agent claims it in the console and replies → the
reply reaches the customer's callback URL → the customer's next message
reaches the agent, not the bot → the agent closes → the bot answers again.
"""
from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from sqlalchemy import select

from bot.bank.db import transaction
from bot.bank.models import Staff
from bot.bank.staff.accounts import create_staff
from bot.desk.app import create_app
from tests.conftest import PINNED_NOW
from tests.conversation import Customer, bank_rows
from tests.test_desk import NOW, PASSWORD, login, post_json

pytestmark = pytest.mark.server


@pytest.fixture
async def agent_console(stack, monkeypatch):
    """The console on the stack's bank database, an agent signed in (and so online)."""
    monkeypatch.setenv("HELPLINE_DATA_DIR", str(stack.workdir))
    monkeypatch.setenv("HELPLINE_NOW", PINNED_NOW)
    monkeypatch.setenv("RASA_URL", stack.rasa_url)
    monkeypatch.setenv("RASA_TOKEN", stack.token)
    monkeypatch.setenv("DESK_BCRYPT_ROUNDS", "4")
    with transaction() as session:
        if not session.execute(select(Staff).where(Staff.username == "xiaowang")).first():
            create_staff(session, username="xiaowang", display_name="王小明", role="agent", password=PASSWORD, when=NOW)
    client = TestClient(TestServer(create_app()))
    await client.start_server()
    assert (await login(client, "xiaowang", PASSWORD)).status == 303
    assert (await client.get("/api/escalations")).status == 200      # opening the queue = online
    yield client
    await client.close()


async def escalation_of(client: TestClient, customer: Customer) -> dict:
    queue = (await (await client.get("/api/escalations")).json())["escalations"]
    return next(entry for entry in queue if entry["reference"] in customer.text)


async def test_stolen_card_goes_to_an_agent_and_back_to_the_bot(stack, callback_sink, agent_console):
    customer = Customer(stack).says("我的卡被盗刷了，卡号6222020200000000006")
    assert "临时挂失" in customer.text and "转接人工客服" in customer.text
    case = await escalation_of(agent_console, customer)
    assert case["priority"] == "urgent" and case["status"] == "waiting"
    transcript = bank_rows(stack, "SELECT transcript FROM escalations WHERE reference = ?", case["reference"])[0][0]
    assert "6222020200000000006" not in transcript and "***************0006" in transcript

    assert (await post_json(agent_console, f"/api/escalations/{case['id']}/claim", {})).status == 200
    assert (await post_json(agent_console, f"/api/escalations/{case['id']}/reply",
                            {"text": "您好，我已经帮您冻结了卡片，请问最后一笔交易是什么时候？"})).status == 200
    callback_sink.wait_for(lambda push: push["recipient_id"] == customer.sender and push["kind"] == "agent_message")
    assert any("王客服" in text for text in callback_sink.texts_for(customer.sender))

    customer.says("昨天晚上十点左右，我人在家里，手机13800138000")
    assert customer.last == []                                     # the bot stays silent
    detail = await (await agent_console.get(f"/api/escalations/{case['id']}")).json()
    said = [line["text"] for line in detail["messages"] if line["role"] == "user"]
    assert said == ["昨天晚上十点左右，我人在家里，手机*******8000"]   # reaches the agent, masked

    assert (await post_json(agent_console, f"/api/escalations/{case['id']}/close", {"note": "已冻结"})).status == 200
    callback_sink.wait_for(lambda push: push["recipient_id"] == customer.sender and push["kind"] == "handoff_closed")
    customer.says("福田支行今天几点开门")
    assert "福田支行" in customer.text and ":" in customer.text   # the bot answers again


def test_nobody_online_offers_a_callback_and_records_it(stack):
    bank_rows(stack, "UPDATE staff SET last_seen_at = NULL")   # the pinned clock would keep agents online
    customer = Customer(stack).says("我要投诉，你们网点服务太差了")
    assert "不在线" in customer.text and "400-830-9595" in customer.text
    customer.says("13900139000")
    assert any("明天上午" in button["title"] for button in customer.buttons)
    customer.clicks(1)
    assert "已经为您登记回电" in customer.text and "139****9000" in customer.text
    rows = bank_rows(stack, "SELECT status, callback_phone, priority, reason FROM escalations "
                            "WHERE conversation_id = ?", customer.sender)
    assert rows == [("callback_requested", "13900139000", "high", "complaint")]
