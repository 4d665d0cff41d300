"""Agents told at once on any console page (bot.desk.alerts), and typing both ways on the case
page's live chat (bot.desk.live_chat), over real websockets against the console."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from bot.bank.handoff import escalations as handoff
from bot.bank.handoff import live
from bot.desk import alerts, sockets
from tests.bankdb import serve
from tests import test_desk_escalations as escalation_tests
from tests.test_desk import csrf_of, post_json
from tests.test_desk_escalations import case, chat, escalate, origin, receive_until, staff_id

desk, rasa, colleague = escalation_tests.desk, escalation_tests.rasa, escalation_tests.colleague   # fixtures


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(alerts, "ALERT_SECONDS", 0.1)


async def alert_socket(client: TestClient):
    ws = await client.ws_connect(alerts.ALERTS, headers={"Origin": origin(client)})
    await ws.send_json({"type": "hello", "csrf": await csrf_of(client)})
    await receive_until(ws, lambda m: m["type"] == "watching")   # told what still needs someone; watching
    return ws


def is_alert(kind: str):
    return lambda message: message["type"] == "alert" and message["kind"] == kind


async def test_every_page_of_an_agent_loads_the_alerts_and_branch_staff_get_none(desk):
    agent, branch = await desk.login("agent"), await desk.login("futian")
    page = await (await agent.get("/bookings")).text()
    assert "/static/alerts.js" in page and f'data-socket="{alerts.ALERTS}"' in page
    assert "/static/alerts.js" not in await (await branch.get("/bookings")).text()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await branch.ws_connect(alerts.ALERTS, headers={"Origin": origin(branch)})
    assert refused.value.status == 403


async def test_a_new_case_and_a_customers_message_reach_the_agent_at_once(desk):
    agent = await desk.login("agent")
    ws = await alert_socket(agent)
    escalation_id = escalate("c1", "lost_card")
    new = (await receive_until(ws, is_alert(live.NEW_CASE)))[-1]
    reference = case(escalation_id).reference
    assert new["title"] == "【紧急】新客户待接入" and new["urgent"] and new["sticky"] and not new["replay"]
    assert new["body"] == f"银行卡丢失/被盗刷 · 编号 {reference}，请尽快接入。"
    assert new["url"] == f"/escalations/{escalation_id}"

    await post_json(agent, f"/api/escalations/{escalation_id}/claim", {})
    await asyncio.sleep(3 * alerts.ALERT_SECONDS)   # the watcher has seen the case become the agent's
    serve(live.customer_wrote, "c1")
    wrote = (await receive_until(ws, is_alert(live.CUSTOMER_WROTE)))[-1]
    assert wrote["id"] == escalation_id and reference in wrote["body"] and "发来了新消息" in wrote["body"]
    assert not wrote["sticky"]
    await ws.close()


async def test_a_page_that_connects_is_told_what_still_needs_someone(desk):
    waiting = escalate("c1", "fraud", waited=3)
    await alerts.check_overdue()
    boss = await desk.login("boss")
    ws = await boss.ws_connect(alerts.ALERTS, headers={"Origin": origin(boss)})
    await ws.send_json({"type": "hello", "csrf": await csrf_of(boss)})
    told = await receive_until(ws, lambda m: m["type"] == "watching")
    assert [(m["kind"], m["id"], m["replay"]) for m in told if m["type"] == "alert"] == [
        (live.NEW_CASE, waiting, True), (live.OVERDUE, waiting, True)]
    await ws.close()


async def test_a_case_transferred_to_an_agent_is_announced_to_them(desk, colleague):
    escalation_id = escalate("c1")
    zhou, agent = await desk.login("zhou"), await desk.login("agent")
    await post_json(zhou, f"/api/escalations/{escalation_id}/claim", {})
    ws = await alert_socket(agent)
    await post_json(zhou, f"/api/escalations/{escalation_id}/transfer", {"to_staff_id": staff_id("agent")})
    assigned = (await receive_until(ws, is_alert(live.ASSIGNED)))[-1]
    assert assigned["title"] == "同事转来一位客户" and assigned["id"] == escalation_id
    await ws.close()


async def test_an_urgent_case_past_target_reaches_the_supervisor_not_the_agents(desk):
    escalation_id = escalate("c1", "fraud", waited=3)
    agent, boss = await desk.login("agent"), await desk.login("boss")
    agent_ws, boss_ws = await alert_socket(agent), await alert_socket(boss)
    await alerts.check_overdue()
    late = (await receive_until(boss_ws, is_alert(live.OVERDUE)))[-1]
    assert late["id"] == escalation_id and late["title"] == "紧急会话超时未回复" and "已超过 2 分钟未得到回复" in late["body"]
    await agent_ws.send_json({"type": "ping"})
    heard = await receive_until(agent_ws, lambda m: m["type"] == "pong")
    assert [m for m in heard if m["type"] == "alert" and m["kind"] == live.OVERDUE] == []
    assert "已提醒值班主管" in serve(handoff.detail, escalation_id).notes[0]["text"]
    await agent_ws.close()
    await boss_ws.close()


async def test_the_alerts_socket_refuses_other_sites_and_a_wrong_token(desk):
    agent = await desk.login("agent")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await agent.ws_connect(alerts.ALERTS, headers={"Origin": "http://evil.example"})
    assert refused.value.status == 403
    ws = await agent.ws_connect(alerts.ALERTS, headers={"Origin": origin(agent)})
    await ws.send_json({"type": "hello", "csrf": "x" * 32})
    assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE and ws.close_code == sockets.REFUSED


async def test_typing_passes_both_ways_on_the_case_page(desk):
    escalation_id = escalate("c1")
    agent = await desk.login("agent")
    await post_json(agent, f"/api/escalations/{escalation_id}/claim", {})
    ws = await chat(agent, escalation_id)
    first = (await receive_until(ws, lambda m: m["type"] == "status"))[-1]
    assert first["customer_typing"] is False

    serve(live.customer_typing, "c1")
    typing = (await receive_until(ws, lambda m: m["type"] == "status"))[-1]
    assert typing["customer_typing"] is True
    serve(live.customer_wrote, "c1")
    stopped = (await receive_until(ws, lambda m: m["type"] == "status"))[-1]
    assert stopped["customer_typing"] is False

    await ws.send_json({"type": "typing"})
    await ws.send_json({"type": "ping"})
    await receive_until(ws, lambda m: m["type"] == "pong")
    assert case(escalation_id).agent_typing_at is not None
    [shown] = serve(live.claim_typing, "widget", every=handoff.TYPING_FRESH)
    assert shown.conversation_id == "c1"
    await ws.close()
