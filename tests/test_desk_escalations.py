"""The staff console's escalation pages and live chat (bot.desk.pages.escalations,
bot.desk.live_chat) over HTTP and a websocket, with a fake Rasa for transcripts."""
from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any, Callable, Dict, List, Optional

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update

from bot.bank.handoff import escalations as handoff
from bot.bank.db import transaction
from bot.bank.models import Escalation, Outbox, Staff
from bot.desk import live_chat, sockets
from bot.bank.staff.accounts import create_staff
from tests.bankdb import serve
from tests import test_desk as shared
from tests.test_desk import NOW, PASSWORD, csrf_of, post_form, post_json, route_paths


PHONE = "13800138000"
STOLEN = [{"role": "user", "text": f"我的卡被盗刷了，手机{PHONE}", "at": "1790000000.0"},
          {"role": "bot", "text": "请先冻结卡片", "at": "1790000001.0"}]


class FakeRasa:
    """Rasa's `GET /conversations/{id}/tracker`, serving the events tests put in."""

    def __init__(self) -> None:
        self.events: Dict[str, List[Dict[str, Any]]] = {}
        self.down = False

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/conversations/{conversation_id}/tracker", self.tracker)
        return app

    async def tracker(self, request: web.Request) -> web.Response:
        if self.down:
            return web.json_response({"message": "unavailable"}, status=503)
        conversation_id = request.match_info["conversation_id"]
        return web.json_response({"sender_id": conversation_id, "events": self.events.get(conversation_id, [])})

    def say(self, conversation_id: str, role: str, text: str, at: float, agent: str = "") -> None:
        event = {"event": role, "text": text, "timestamp": at}
        if agent:
            event["metadata"] = {"agent": agent}
        self.events.setdefault(conversation_id, []).append(event)


@pytest.fixture
async def rasa(monkeypatch):
    fake = FakeRasa()
    server = TestServer(fake.app())
    await server.start_server()
    monkeypatch.setenv("RASA_URL", str(server.make_url("")))
    monkeypatch.setattr(live_chat, "POLL_SECONDS", 0.1)
    yield fake
    await server.close()


@pytest.fixture
async def desk(rasa, bank_db, monkeypatch):
    """The console with the accounts of tests/test_desk.py (agent 李敏, boss 赵总, futian,
    nanshan), reading transcripts from the fake Rasa."""
    async with shared.running_desk(monkeypatch) as console:
        yield console


@pytest.fixture
def colleague(desk) -> int:
    """A second agent, 周杰."""
    with transaction() as session:
        return create_staff(session, username="zhou", display_name="周杰", role="agent", password=PASSWORD,
                            when=NOW).id


def escalate(conversation: str, reason: str = "human", waited: int = 0, channel: str = "widget",
             transcript: Optional[List[Dict[str, str]]] = None) -> int:
    """An escalation opened `waited` minutes before the pinned clock; its id."""
    ticket = serve(handoff.open_escalation, conversation, channel, reason, STOLEN if transcript is None else transcript)
    return _backdate(ticket.reference, waited)


def callback(conversation: str, waited: int = 0) -> int:
    ticket = serve(handoff.request_callback, conversation, "wechat", "complaint", PHONE, "明天上午 9:00-12:00", STOLEN)
    return _backdate(ticket.reference, waited)


def _backdate(reference: str, minutes: int) -> int:
    with transaction() as session:
        session.execute(update(Escalation).where(Escalation.reference == reference)
                        .values(created_at=NOW - timedelta(minutes=minutes)))
        return session.execute(select(Escalation.id).where(Escalation.reference == reference)).scalar_one()


def case(escalation_id: int) -> Escalation:
    with transaction() as session:
        return session.get(Escalation, escalation_id)


def outbox(conversation: str, kind: Optional[str] = None) -> List[Outbox]:
    with transaction() as session:
        query = select(Outbox).where(Outbox.channel_user == conversation)
        return list(session.execute(query.where(Outbox.kind == kind) if kind else query).scalars())


def staff_id(username: str) -> int:
    with transaction() as session:
        return session.execute(select(Staff.id).where(Staff.username == username)).scalar_one()


def escalation_routes(app) -> List[tuple]:
    return [(method, path) for method, path, _ in route_paths(app) if "escalations" in path and method != "HEAD"]


def origin(client: TestClient) -> str:
    return str(client.make_url("/")).rstrip("/")


async def chat(client: TestClient, escalation_id: int, *, hello: bool = True, **options: Any):
    """The case page's websocket, opened as the page opens it (same origin, CSRF token first)."""
    ws = await client.ws_connect(f"/escalations/{escalation_id}/ws", headers={"Origin": origin(client)}, **options)
    if hello:
        await ws.send_json({"type": "hello", "csrf": await csrf_of(client)})
    return ws


async def receive_until(ws, done: Callable[[Dict[str, Any]], bool], seconds: float = 5) -> List[Dict[str, Any]]:
    """Messages up to and including the first for which `done` is true."""
    seen: List[Dict[str, Any]] = []

    async def collect() -> None:
        while True:
            message = await ws.receive()
            assert message.type == aiohttp.WSMsgType.TEXT, message
            seen.append(json.loads(message.data))
            if done(seen[-1]):
                return

    await asyncio.wait_for(collect(), seconds)
    return seen


# --- the queue ---------------------------------------------------------------------------------

async def test_the_queue_puts_urgent_first_then_longest_waiting_with_the_reply_deadline(desk):
    normal = escalate("c-normal", "human", waited=30, channel="rest")
    high = escalate("c-high", "complaint", waited=3, channel="wechat")
    urgent = escalate("c-urgent", "lost_card", waited=1)
    older_high = escalate("c-high-2", "hardship", waited=4)
    called = callback("c-callback", waited=60)
    agent = await desk.login("agent")
    body = await (await agent.get("/api/escalations")).json()
    rows = body["escalations"]
    assert [row["id"] for row in rows] == [urgent, called, older_high, high, normal]
    assert (body["waiting"], body["overdue"]) == (4, 1)
    by_id = {row["id"]: row for row in rows}
    assert [by_id[i]["priority_label"] for i in (urgent, high, normal)] == ["紧急", "较急", "一般"]
    assert [by_id[i]["channel_label"] for i in (urgent, high, normal)] == ["网页客服", "微信公众号", "App/接口"]
    assert by_id[urgent]["sla"] == {"state": "running", "label": "还剩 1 分钟"}
    assert by_id[high]["sla"] == {"state": "running", "label": "还剩 2 分钟"}
    assert by_id[normal]["sla"] == {"state": "overdue", "label": "已超时 20 分钟"} and by_id[normal]["overdue"]
    assert by_id[normal]["waited_minutes"] == 30 and by_id[normal]["summary"] == "我的卡被盗刷了，手机*******8000"
    assert by_id[called]["status_text"] == "待回电 · 138****8000 · 明天上午 9:00-12:00"
    assert by_id[called]["callback_phone"] == "138****8000" and not by_id[called]["can_claim"]

    page = await (await agent.get("/escalations")).text()
    assert page.index(f'id="case-{urgent}"') < page.index(f'id="case-{older_high}"') < page.index(f'id="case-{normal}"')
    assert '<span class="sla sla-overdue">已超时 20 分钟</span>' in page and "还剩 2 分钟" in page
    assert page.count(">接入</button>") == 4 and PHONE not in page
    assert "银行卡丢失/被盗刷" in page and "待回电 · 138****8000" in page
    assert page.index('href="/escalations"') < page.index('href="/bookings"')   # first in the menu
    table = await agent.get("/escalations?part=table")
    fragment = await table.text()
    assert table.status == 200 and "<html" not in fragment and f'id="case-{normal}"' in fragment
    assert 'data-waiting="4"' in fragment and f'value="{await csrf_of(agent)}"' in fragment


async def test_agents_land_on_the_queue_and_showing_it_counts_them_as_online(desk):
    agent = await desk.login("agent")
    assert serve(handoff.agents_available) == 0
    response = await agent.get("/desk", allow_redirects=False)
    assert response.headers["Location"] == "/escalations"
    await agent.get("/escalations")
    assert serve(handoff.agents_available) == 1
    body = await (await agent.get("/api/escalations")).json()
    assert body["agents_online"] == 1 and body["on_duty"]


# --- taking a case -----------------------------------------------------------------------------

async def test_claiming_greets_the_customer_through_the_outbox(desk):
    escalation_id = escalate("c1", "lost_card")
    agent = await desk.login("agent")
    response = await post_form(agent, f"/escalations/{escalation_id}/claim", {})
    assert response.status == 303 and response.headers["Location"] == f"/escalations/{escalation_id}"
    page = await (await agent.get(response.headers["Location"])).text()
    assert "已接入" in page and "回复客户" in page and "接待中 · 李敏" in page
    [joined] = outbox("c1", "handoff_joined")
    assert joined.channel == "widget"
    assert joined.payload["messages"][0] == {"custom": {"handoff": "joined", "agent": "李客服"}}
    row = case(escalation_id)
    assert row.status == handoff.WITH_AGENT and row.assignee_id == staff_id("agent")


async def test_a_colleague_can_neither_take_nor_answer_a_claimed_case(desk, colleague):
    escalation_id = escalate("c1")
    agent, other = await desk.login("agent"), await desk.login("zhou")
    assert (await post_json(agent, f"/api/escalations/{escalation_id}/claim", {})).status == 200
    taken = await post_json(other, f"/api/escalations/{escalation_id}/claim", {})
    assert taken.status == 409 and "同事接入" in (await taken.json())["message"]
    answered = await post_json(other, f"/api/escalations/{escalation_id}/reply", {"text": "您好"})
    assert answered.status == 409 and (await answered.json())["error"] == "not_yours"
    form = await post_form(other, f"/escalations/{escalation_id}/reply", {"text": "您好"})
    assert form.status == 303
    assert "不由你接待" in await (await other.get(form.headers["Location"])).text()
    page = await (await other.get(f"/escalations/{escalation_id}")).text()
    assert 'name="text" rows="3"' not in page and "这位客户由李敏接待" in page
    assert outbox("c1", "agent_message") == [] and case(escalation_id).assignee_id == staff_id("agent")


async def test_replies_by_form_and_json_go_to_the_outbox(desk):
    escalation_id = escalate("c1")
    agent = await desk.login("agent")
    await post_json(agent, f"/api/escalations/{escalation_id}/claim", {})
    form = await post_form(agent, f"/escalations/{escalation_id}/reply", {"text": "您好，卡已帮您冻结。"})
    assert form.status == 303 and "已发送" in await (await agent.get(form.headers["Location"])).text()
    answered = await post_json(agent, f"/api/escalations/{escalation_id}/reply", {"text": "还有别的问题吗？"})
    assert answered.status == 200 and (await answered.json())["escalation"]["sla"]["state"] == "met"
    texts = [row.payload["messages"][0] for row in outbox("c1", "agent_message")]
    assert texts == [{"text": "您好，卡已帮您冻结。", "metadata": {"agent": "李客服"}},
                     {"text": "还有别的问题吗？", "metadata": {"agent": "李客服"}}]
    empty = await post_json(agent, f"/api/escalations/{escalation_id}/reply", {"text": "  "})
    assert empty.status == 400 and "填写内容" in (await empty.json())["message"]
    too_long = await post_json(agent, f"/api/escalations/{escalation_id}/reply", {"text": "长" * 2001})
    assert too_long.status == 400 and "2000" in (await too_long.json())["message"]
    missing = await post_json(agent, "/api/escalations/999/reply", {"text": "您好"})
    assert missing.status == 404


async def test_notes_stay_inside_the_bank(desk):
    escalation_id = escalate("c1")
    agent = await desk.login("agent")
    await post_json(agent, f"/api/escalations/{escalation_id}/claim", {})
    before = len(outbox("c1"))
    response = await post_form(agent, f"/escalations/{escalation_id}/notes", {"text": "客户情绪激动，已安抚"})
    assert response.status == 303
    assert len(outbox("c1")) == before
    detail = await (await agent.get(f"/api/escalations/{escalation_id}")).json()
    assert [(n["author"], n["text"]) for n in detail["notes"]] == [("李敏", "客户情绪激动，已安抚")]
    page = await (await agent.get(f"/escalations/{escalation_id}")).text()
    assert "客户情绪激动，已安抚" in page and "只有员工能看到" in page


async def test_transfer_hands_the_case_to_a_colleague(desk, colleague):
    escalation_id = escalate("c1")
    agent = await desk.login("agent")
    await post_json(agent, f"/api/escalations/{escalation_id}/claim", {})
    page = await (await agent.get(f"/escalations/{escalation_id}")).text()
    options = page[page.index('name="to_staff_id"'):page.index("</select>")]
    assert "周杰" in options and "赵总" in options and "李敏" not in options and "王丽" not in options
    to_self = await post_json(agent, f"/api/escalations/{escalation_id}/transfer", {"to_staff_id": staff_id("agent")})
    assert to_self.status == 400
    moved = await post_json(agent, f"/api/escalations/{escalation_id}/transfer", {"to_staff_id": colleague})
    assert moved.status == 200 and (await moved.json())["escalation"]["assignee"] == "周杰"
    assert case(escalation_id).assignee_id == colleague
    greeting = outbox("c1", "handoff_joined")[-1].payload["messages"][0]
    assert greeting == {"custom": {"handoff": "joined", "agent": "周客服"}}
    again = await post_json(agent, f"/api/escalations/{escalation_id}/transfer", {"to_staff_id": colleague})
    assert again.status == 409


async def test_closing_hands_the_conversation_back_to_the_bot(desk):
    escalation_id = escalate("c1")
    agent = await desk.login("agent")
    await post_json(agent, f"/api/escalations/{escalation_id}/claim", {})
    response = await post_form(agent, f"/escalations/{escalation_id}/close", {"note": "已冻结并补卡", "back": "/escalations"})
    assert response.status == 303 and response.headers["Location"] == "/escalations"
    assert "已结束接待" in await (await agent.get("/escalations")).text()
    [closed] = outbox("c1", "handoff_closed")
    assert closed.payload["resume"] is True
    row = case(escalation_id)
    assert row.status == handoff.RESOLVED and row.close_note == "已冻结并补卡"
    assert (await (await agent.get("/api/escalations")).json())["count"] == 0
    reopened = await post_json(agent, f"/api/escalations/{escalation_id}/reply", {"text": "在吗"})
    assert reopened.status == 409 and (await reopened.json())["error"] == "closed"


async def test_callbacks_show_the_number_to_dial_and_record_the_outcome(desk):
    escalation_id = callback("c1")
    agent = await desk.login("agent")
    page = await (await agent.get(f"/escalations/{escalation_id}")).text()
    assert f'href="tel:{PHONE}"' in page and "已联系上" in page and "未接通" in page
    assert PHONE not in await (await agent.get("/escalations")).text()
    assert PHONE not in await (await agent.get("/api/escalations")).text()
    detail = await (await agent.get(f"/api/escalations/{escalation_id}")).json()
    assert detail["dial_phone"] == PHONE and detail["escalation"]["callback_phone"] == "138****8000"
    bad = await post_json(agent, f"/api/escalations/{escalation_id}/callback", {"reached": "maybe"})
    assert bad.status == 400
    missed = await post_form(agent, f"/escalations/{escalation_id}/callback", {"reached": "no", "note": "关机"})
    assert missed.status == 303 and "未接通" in await (await agent.get(missed.headers["Location"])).text()
    assert case(escalation_id).status == handoff.CALLBACK
    reached = await post_json(agent, f"/api/escalations/{escalation_id}/callback", {"reached": "yes"})
    assert reached.status == 200 and (await reached.json())["escalation"]["status"] == handoff.RESOLVED
    notes = (await (await agent.get(f"/api/escalations/{escalation_id}")).json())["notes"]
    assert [n["text"] for n in notes] == ["已回电，未接通：关机", "已回电，联系上客户"]
    assert (await post_json(agent, f"/api/escalations/{escalation_id}/callback", {"reached": "yes"})).status == 409


async def test_the_case_page_shows_the_masked_handoff_and_the_live_messages(desk, rasa):
    escalation_id = escalate("c1", "lost_card")
    rasa.say("c1", "user", f"我的卡被盗刷了，手机{PHONE}", 1790000000.0)
    rasa.say("c1", "bot", "已为您转人工，请稍候。", 1790000002.0)
    rasa.say("c1", "user", "快点，卡号6222020200000000006", 1790000003.0)
    agent = await desk.login("agent")
    detail = await (await agent.get(f"/api/escalations/{escalation_id}")).json()
    assert [line["text"] for line in detail["transcript"]] == ["我的卡被盗刷了，手机*******8000", "请先冻结卡片"]
    assert [line["text"] for line in detail["messages"]] == ["已为您转人工，请稍候。", "快点，卡号***************0006"]
    assert detail["messages_available"] and detail["since"] == 1790000003.0
    page = await (await agent.get(f"/escalations/{escalation_id}")).text()
    assert PHONE not in page and "6222020200000000006" not in page and "智能助手" in page
    assert 'data-live-chat="/escalations/' in page and "/static/live_chat.js" in page
    rasa.down = True
    page = await (await agent.get(f"/escalations/{escalation_id}")).text()
    assert "对话记录暂时读不到" in page and "请先冻结卡片" in page


# --- who may do it -------------------------------------------------------------------------------

async def test_branch_staff_are_refused_everywhere(desk, rasa):
    escalation_id = escalate("c1")
    clerk = await desk.login("futian")
    checked = 0
    for method, path in escalation_routes(desk.app):
        path = path.replace("/1", f"/{escalation_id}", 1)
        if method == "POST":
            response = await post_form(clerk, path, {"text": "x"})
        else:
            response = await clerk.get(path, allow_redirects=False)
        assert response.status == 403, (method, path)
        checked += 1
    assert checked >= 17
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await chat(clerk, escalation_id, hello=False)
    assert refused.value.status == 403
    assert 'href="/escalations"' not in await (await clerk.get("/bookings")).text()
    assert case(escalation_id).status == handoff.WAITING


async def test_anonymous_visitors_are_refused_everywhere(desk, rasa):
    escalation_id = escalate("c1")
    client = await desk.client()
    for method, path in escalation_routes(desk.app):
        path = path.replace("/1", f"/{escalation_id}", 1)
        response = await client.request(method, path, allow_redirects=False)
        if path.startswith("/api/"):
            assert response.status == 401, (method, path)
        else:
            assert response.status == 302 and response.headers["Location"].startswith("/login"), (method, path)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect(f"/escalations/{escalation_id}/ws", headers={"Origin": origin(client)})
    assert refused.value.status == 401
    assert case(escalation_id).status == handoff.WAITING


# --- the live chat ---------------------------------------------------------------------------------

async def test_the_live_chat_streams_masked_lines_and_sends_replies(desk, rasa):
    escalation_id = escalate("c1", "lost_card")
    rasa.say("c1", "user", f"我的卡被盗刷了，手机{PHONE}", 1790000000.0)   # already in the hand-off copy
    rasa.say("c1", "user", f"还在吗？我手机是{PHONE}", 1790000005.0)
    agent = await desk.login("agent")
    await post_json(agent, f"/api/escalations/{escalation_id}/claim", {})
    ws = await chat(agent, escalation_id)
    seen = await receive_until(ws, lambda m: m["type"] == "status")
    lines = [m for m in seen if m["type"] == "line"]
    assert [(line["role"], line["who"], line["text"]) for line in lines] == [("user", "客户", "还在吗？我手机是*******8000")]
    assert seen[-1]["can_reply"] and seen[-1]["status_text"] == "接待中 · 李敏" and seen[-1]["transcript_available"]

    rasa.say("c1", "bot", "您好，我来帮您处理。", 1790000009.0, agent="李客服")
    [line] = await receive_until(ws, lambda m: m["type"] == "line")
    assert (line["role"], line["agent"], line["who"]) == ("agent", "李客服", "李客服")
    await ws.send_json({"type": "reply", "id": 7, "text": f"已冻结，请记下客服电话，您的手机{PHONE}"})
    sent = (await receive_until(ws, lambda m: m["type"] in ("sent", "error")))[-1]
    assert sent == {"type": "sent", "id": 7, "text": "已冻结，请记下客服电话，您的手机*******8000"}
    [row] = outbox("c1", "agent_message")
    assert row.payload["messages"][0]["text"].endswith(PHONE)   # the customer gets the real words
    await ws.send_json({"type": "reply", "id": 8, "text": ""})
    error = (await receive_until(ws, lambda m: m["type"] == "error"))[-1]
    assert error["id"] == 8 and "填写内容" in error["message"]
    await ws.send_json({"type": "ping"})
    await receive_until(ws, lambda m: m["type"] == "pong")
    with transaction() as session:
        assert session.execute(select(func.count(Staff.id)).where(Staff.last_seen_at.is_not(None))).scalar_one() == 1
    await ws.close()


async def test_the_live_chat_follows_the_case_and_survives_rasa_being_down(desk, rasa, colleague):
    escalation_id = escalate("c1")
    rasa.down = True
    agent = await desk.login("agent")
    ws = await chat(agent, escalation_id, params={"csrf": await csrf_of(agent)}, hello=False)
    first = (await receive_until(ws, lambda m: m["type"] == "status"))[-1]
    assert not first["transcript_available"] and "暂时读不到" in first["message"] and not first["can_reply"]
    await ws.send_json({"type": "reply", "id": 1, "text": "您好"})
    refused = (await receive_until(ws, lambda m: m["type"] == "error"))[-1]
    assert refused["id"] == 1 and "不由你接待" in refused["message"]
    rasa.down = False
    back = (await receive_until(ws, lambda m: m["type"] == "status"))[-1]
    assert back["transcript_available"] and back["message"] == ""
    other = await desk.login("zhou")
    await post_json(other, f"/api/escalations/{escalation_id}/claim", {})
    claimed = (await receive_until(ws, lambda m: m["type"] == "status"))[-1]
    assert claimed["status_text"] == "接待中 · 周杰" and not claimed["can_reply"]
    await post_json(other, f"/api/escalations/{escalation_id}/close", {})
    ended = (await receive_until(ws, lambda m: m["type"] == "status"))[-1]
    assert ended["status"] == handoff.RESOLVED
    assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE and ws.close_code == live_chat.ENDED


async def test_the_live_chat_refuses_other_sites_and_missing_tokens(desk, rasa):
    escalation_id = escalate("c1")
    agent = await desk.login("agent")
    path = f"/escalations/{escalation_id}/ws"
    for headers in ({"Origin": "http://evil.example"}, {"Origin": origin(agent).replace("127.0.0.1", "localhost")}, {}):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await agent.ws_connect(path, headers=headers)
        assert refused.value.status == 403, headers
    with pytest.raises(aiohttp.WSServerHandshakeError) as wrong_token:
        await agent.ws_connect(path, headers={"Origin": origin(agent)}, params={"csrf": "x" * 32})
    assert wrong_token.value.status == 403
    ws = await agent.ws_connect(path, headers={"Origin": origin(agent)})
    await ws.send_json({"type": "hello", "csrf": "x" * 32})
    assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE and ws.close_code == sockets.REFUSED
    with pytest.raises(aiohttp.WSServerHandshakeError) as missing:
        await chat(agent, 999)
    assert missing.value.status == 404
    plain = await agent.get(path)
    assert plain.status == 400
