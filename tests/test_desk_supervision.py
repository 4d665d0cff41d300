"""The duty supervisor's board and take-over (bot.desk.pages.supervision, bot.bank.handoff.supervision),
through the console over HTTP, and the case's trail and outbox in the database afterwards."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from bot.bank.db import transaction
from bot.bank.handoff import escalations as handoff
from bot.bank.models import Staff
from tests.test_desk import NOW, post_form, post_json
from tests import test_desk_escalations as escalation_tests
from tests.test_desk_escalations import case, escalate, outbox, staff_id

desk, rasa, colleague = escalation_tests.desk, escalation_tests.rasa, escalation_tests.colleague   # fixtures


def seen_minutes_ago(username: str, minutes: int) -> None:
    with transaction() as session:
        session.execute(update(Staff).where(Staff.username == username)
                        .values(last_seen_at=NOW - timedelta(minutes=minutes)))


async def test_the_board_shows_who_has_which_case_who_waits_past_target_and_who_is_online(desk, colleague):
    stolen = escalate("c1", "lost_card", waited=5)       # urgent: a first reply was due after 2 minutes
    chat = escalate("c2", "human", waited=1)
    agent, boss = await desk.login("agent"), await desk.login("boss")
    assert (await post_json(agent, f"/api/escalations/{chat}/claim", {})).status == 200
    seen_minutes_ago("zhou", 30)

    page = await (await boss.get("/supervision")).text()
    late = page[page.index('data-table="past-target"'):page.index('data-table="agents"')]
    assert f'id="late-{stolen}"' in late and "还没有人接入" in late and f'id="late-{chat}"' not in late
    li_min = page[page.index(f'id="agent-{staff_id("agent")}"'):]
    li_min = li_min[:li_min.index("</tr>")]
    assert "在线" in li_min and case(chat).reference in li_min and "已接待 0 分钟" in li_min
    zhou = page[page.index(f'id="agent-{colleague}"'):]
    assert "离线（最后在线：30 分钟前）" in zhou[:zhou.index("</tr>")] and "空闲" in zhou[:zhou.index("</tr>")]
    assert 'data-live-queue="/supervision?part=board"' in page and 'href="/supervision"' in page

    board = await (await boss.get("/api/supervision")).json()
    assert board["waiting"] == 1 and [row["id"] for row in board["past_target"]] == [stolen]
    assert board["online"] == 2  # 李敏 and the supervisor, who has the board open
    fragment = await (await boss.get("/supervision?part=board")).text()
    assert "<html" not in fragment and 'data-waiting="1"' in fragment


async def test_a_supervisor_takes_a_chat_from_an_agent_and_the_case_records_it(desk):
    escalation_id = escalate("c1", "fraud")
    agent, boss = await desk.login("agent"), await desk.login("boss")
    await post_json(agent, f"/api/escalations/{escalation_id}/claim", {})
    page = await (await boss.get(f"/escalations/{escalation_id}")).text()
    assert f'action="/escalations/{escalation_id}/take-over"' in page

    response = await post_form(boss, f"/escalations/{escalation_id}/take-over", {})
    assert response.status == 303 and response.headers["Location"] == f"/escalations/{escalation_id}"
    assert "已接管" in await (await boss.get(response.headers["Location"])).text()
    row = case(escalation_id)
    assert row.status == handoff.WITH_AGENT and row.assignee_id == staff_id("boss")
    detail = await (await boss.get(f"/api/escalations/{escalation_id}")).json()
    assert [(note["author"], note["text"]) for note in detail["notes"]] == [("赵总", "从李敏手中接管了这次接待")]
    marker, greeting = outbox("c1", "handoff_joined")[-1].payload["messages"]
    assert marker == {"custom": {"handoff": "joined", "agent": "赵客服"}}
    assert "同事已经把您的情况转给我" in greeting["text"] and greeting["metadata"]["agent"] == "赵客服"

    refused = await post_json(agent, f"/api/escalations/{escalation_id}/reply", {"text": "您好"})
    assert refused.status == 409 and (await refused.json())["error"] == "not_yours"
    assert outbox("c1", "agent_message") == []
    again = await post_json(boss, f"/api/escalations/{escalation_id}/take-over", {})
    assert again.status == 400 and "已经由你接待" in (await again.json())["message"]


async def test_a_supervisor_can_take_a_waiting_customer_straight_from_the_queue(desk):
    escalation_id = escalate("c1", "distress", waited=3)
    boss = await desk.login("boss")
    taken = await post_json(boss, f"/api/escalations/{escalation_id}/take-over", {})
    assert taken.status == 200 and (await taken.json())["escalation"]["assignee"] == "赵总"
    assert case(escalation_id).claimed_at is not None
    greeting = outbox("c1", "handoff_joined")[-1].payload["messages"][1]
    assert "您刚才和小鹏说的内容我都看到了" in greeting["text"]
    detail = await (await boss.get(f"/api/escalations/{escalation_id}")).json()
    assert detail["notes"][-1]["text"] == "从队列中直接接管了这次接待"


async def test_a_finished_case_cannot_be_taken_over(desk):
    escalation_id = escalate("c1")
    agent, boss = await desk.login("agent"), await desk.login("boss")
    await post_json(agent, f"/api/escalations/{escalation_id}/claim", {})
    await post_json(agent, f"/api/escalations/{escalation_id}/close", {"note": "已解决"})
    refused = await post_json(boss, f"/api/escalations/{escalation_id}/take-over", {})
    assert refused.status == 409 and "不能再接管" in (await refused.json())["message"]
    assert case(escalation_id).assignee_id == staff_id("agent")


async def test_agents_neither_see_the_board_nor_take_a_colleagues_case(desk, colleague):
    escalation_id = escalate("c1")
    agent, other = await desk.login("agent"), await desk.login("zhou")
    await post_json(agent, f"/api/escalations/{escalation_id}/claim", {})
    assert (await other.get("/supervision", allow_redirects=False)).status == 403
    assert (await other.get("/api/supervision")).status == 403
    assert (await post_json(other, f"/api/escalations/{escalation_id}/take-over", {})).status == 403
    page = await (await other.get(f"/escalations/{escalation_id}")).text()
    assert "take-over" not in page and 'href="/supervision"' not in page
    assert case(escalation_id).assignee_id == staff_id("agent")


async def test_a_disabled_agents_open_chats_stay_on_the_board(desk):
    escalation_id = escalate("c1", "complaint")
    agent, boss = await desk.login("agent"), await desk.login("boss")
    await post_json(agent, f"/api/escalations/{escalation_id}/claim", {})
    with transaction() as session:
        session.execute(update(Staff).where(Staff.username == "agent").values(active=False))
    page = await (await boss.get("/supervision")).text()
    row = page[page.index(f'id="agent-{staff_id("agent")}"'):]
    row = row[:row.index("</tr>")]
    assert "账号已停用" in row and case(escalation_id).reference in row and "接管" in row
