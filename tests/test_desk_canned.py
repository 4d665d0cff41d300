"""Canned replies (bot.bank.handoff.canned, bot.desk.pages.canned) over HTTP: admins
manage them, an agent on a case gets them filled in for that customer."""
from __future__ import annotations

from sqlalchemy import select

from bot.bank.db import transaction
from bot.bank.handoff import escalations as handoff
from bot.bank.models import CannedReply, Customer
from bot.bank.staff.accounts import create_staff
from tests.bankdb import serve
from tests.test_desk import NOW, PASSWORD, post_form, post_json
from tests import test_desk_escalations as escalation_tests
from tests.test_desk_escalations import STOLEN, escalate

desk, rasa = escalation_tests.desk, escalation_tests.rasa   # fixtures

HOTLINE_REPLY = {"shortcut": "/Hotline", "title": "客服热线", "team": "",
                 "body": "{客户姓名}您好，急事可随时拨打24小时热线 {热线}，有专人接听。"}


def customer_case(conversation: str, name: str) -> int:
    """A waiting case of a known customer."""
    with transaction() as session:
        customer = Customer(phone="13900139000", name=name)
        session.add(customer)
        session.flush()
        customer_id = customer.id
    serve(handoff.open_escalation, conversation, "widget", "human", STOLEN, customer_id)
    with transaction() as session:
        return session.execute(select(handoff.Escalation.id)
                               .where(handoff.Escalation.conversation_id == conversation)).scalar_one()


def rows():
    with transaction() as session:
        return [(row.team, row.shortcut, row.title, row.updated_by)
                for row in session.execute(select(CannedReply).order_by(CannedReply.id)).scalars()]


async def test_an_admin_adds_changes_and_deletes_a_canned_reply_with_the_form(desk):
    boss = await desk.login("boss")
    response = await post_form(boss, "/canned", HOTLINE_REPLY)
    assert response.status == 303 and response.headers["Location"] == "/canned"
    assert rows() == [("", "hotline", "客服热线", "赵总")]
    page = await (await boss.get("/canned")).text()
    assert "已添加快捷回复 /hotline（全部坐席）" in page and "{客户姓名}您好" in page and "{热线}" in page
    [reply_id] = [reply["id"] for reply in (await (await boss.get("/api/canned")).json())["replies"]]

    changed = await post_json(boss, f"/api/canned/{reply_id}", {**HOTLINE_REPLY, "title": "热线电话", "team": "信用卡组"})
    assert changed.status == 200 and (await changed.json())["label"] == "信用卡组"
    assert rows() == [("信用卡组", "hotline", "热线电话", "赵总")]
    assert (await post_form(boss, f"/canned/{reply_id}/delete", {})).status == 303
    assert rows() == []


async def test_a_reply_with_an_unknown_placeholder_or_a_taken_shortcut_is_refused(desk):
    boss = await desk.login("boss")
    assert (await post_json(boss, "/api/canned", HOTLINE_REPLY)).status == 200
    taken = await post_json(boss, "/api/canned", {**HOTLINE_REPLY, "title": "又一条"})
    assert taken.status == 400 and "已经有快捷词 /hotline" in (await taken.json())["message"]
    unknown = await post_json(boss, "/api/canned", {**HOTLINE_REPLY, "shortcut": "card", "body": "{卡号}已冻结"})
    assert unknown.status == 400 and "不认识的占位符：{卡号}" in (await unknown.json())["message"]
    bad = await post_json(boss, "/api/canned", {**HOTLINE_REPLY, "shortcut": "热线"})
    assert bad.status == 400
    assert rows() == [("", "hotline", "客服热线", "赵总")]


async def test_only_admins_manage_canned_replies(desk):
    agent = await desk.login("agent")
    assert (await agent.get("/canned", allow_redirects=False)).status == 403
    assert (await post_json(agent, "/api/canned", HOTLINE_REPLY)).status == 403
    assert rows() == []


async def test_an_agent_gets_the_replies_filled_in_for_the_customer_with_the_name_masked(desk):
    boss = await desk.login("boss")
    assert (await post_json(boss, "/api/canned", HOTLINE_REPLY)).status == 200
    case_id = customer_case("c-named", "张三丰")
    agent = await desk.login("agent")
    [reply] = (await (await agent.get(f"/api/escalations/{case_id}/canned")).json())["replies"]
    assert reply == {"shortcut": "hotline", "title": "客服热线",
                     "text": "张**您好，急事可随时拨打24小时热线 400-830-9595，有专人接听。"}
    unnamed = escalate("c-anonymous")
    [reply] = (await (await agent.get(f"/api/escalations/{unnamed}/canned")).json())["replies"]
    assert reply["text"].startswith("客户您好，")
    assert (await agent.get("/api/escalations/999/canned")).status == 404


async def test_a_teams_reply_replaces_the_global_one_for_that_team_only(desk):
    with transaction() as session:
        create_staff(session, username="card", display_name="孙悦", role="agent", password=PASSWORD, when=NOW,
                     team="信用卡组")
    boss = await desk.login("boss")
    await post_json(boss, "/api/canned", HOTLINE_REPLY)
    await post_json(boss, "/api/canned", {**HOTLINE_REPLY, "team": "信用卡组", "body": "信用卡热线 {热线} 转 2。"})
    await post_json(boss, "/api/canned", {**HOTLINE_REPLY, "shortcut": "wait", "team": "理财组", "body": "请稍等。"})
    case_id = escalate("c1")
    card, agent = await desk.login("card"), await desk.login("agent")
    by_team = (await (await card.get(f"/api/escalations/{case_id}/canned")).json())["replies"]
    assert [(reply["shortcut"], reply["text"]) for reply in by_team] == [("hotline", "信用卡热线 400-830-9595 转 2。")]
    everyone = (await (await agent.get(f"/api/escalations/{case_id}/canned")).json())["replies"]
    assert [reply["shortcut"] for reply in everyone] == ["hotline"] and everyone[0]["text"].startswith("客户您好")
    staff_page = await (await boss.get("/staff")).text()
    assert "信用卡组" in staff_page


async def test_the_reply_box_of_a_claimed_case_offers_canned_replies(desk):
    case_id = escalate("c1")
    agent = await desk.login("agent")
    await post_form(agent, f"/escalations/{case_id}/claim", {})
    page = await (await agent.get(f"/escalations/{case_id}")).text()
    assert f'data-canned="/api/escalations/{case_id}/canned"' in page and "/static/canned.js" in page
