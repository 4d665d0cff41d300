"""Tags on cases (bot.bank.handoff.tags, bot.desk.pages.case_tags) over HTTP: suggested from
the knowledge-base topic of the hand-off, searchable, and counted in the insights."""
from __future__ import annotations

from sqlalchemy import select

from bot.bank.db import transaction
from bot.bank.handoff import escalations as handoff
from bot.bank.models import EscalationTag
from tests.bankdb import serve
from tests.test_desk import post_form, post_json
from tests import test_desk_escalations as escalation_tests
from tests.test_desk_escalations import STOLEN, escalate

desk, rasa = escalation_tests.desk, escalation_tests.rasa   # fixtures


def asked_about(conversation: str, topic: str) -> int:
    """A case handed over after the bot answered from the topic `topic` (the `knowledge_topic` slot)."""
    serve(handoff.open_escalation, conversation, "widget", "human", STOLEN, topic=topic)
    with transaction() as session:
        return session.execute(select(handoff.Escalation.id)
                               .where(handoff.Escalation.conversation_id == conversation)).scalar_one()


def stored_tags(escalation_id: int):
    with transaction() as session:
        return sorted((row.tag, row.added_by) for row in session.execute(
            select(EscalationTag).where(EscalationTag.escalation_id == escalation_id)).scalars())


async def test_the_topic_asked_before_the_hand_off_is_offered_as_a_tag(desk):
    escalation_id = asked_about("c1", "early_repayment")
    agent = await desk.login("agent")
    page = await (await agent.get(f"/escalations/{escalation_id}")).text()
    assert "加上“提前还款”" in page and "还没有标签" in page
    added = await post_form(agent, f"/escalations/{escalation_id}/tags", {"tag": "提前还款"})
    assert added.status == 303
    page = await (await agent.get(added.headers["Location"])).text()
    assert "已加标签：提前还款" in page and "加上“提前还款”" not in page
    assert stored_tags(escalation_id) == [("提前还款", "李敏")]


async def test_agents_add_their_own_tags_once_and_remove_them(desk):
    escalation_id = escalate("c1")
    agent = await desk.login("agent")
    body = await (await post_json(agent, f"/api/escalations/{escalation_id}/tags", {"tag": "  盗刷 "})).json()
    assert body == {"tags": ["盗刷"], "suggested": None}
    again = await (await post_json(agent, f"/api/escalations/{escalation_id}/tags", {"tag": "盗刷"})).json()
    assert again["tags"] == ["盗刷"]
    too_long = await post_json(agent, f"/api/escalations/{escalation_id}/tags", {"tag": "很" * 25})
    assert too_long.status == 400 and "1 到 24 个字" in (await too_long.json())["message"]
    await post_json(agent, f"/api/escalations/{escalation_id}/tags", {"tag": "需回访"})
    removed = await post_json(agent, f"/api/escalations/{escalation_id}/tags/delete", {"tag": "盗刷"})
    assert (await removed.json())["tags"] == ["需回访"]
    assert stored_tags(escalation_id) == [("需回访", "李敏")]
    branch = await desk.login("futian")
    assert (await post_json(branch, f"/api/escalations/{escalation_id}/tags", {"tag": "x"})).status == 403


async def test_cases_are_found_by_tag_and_counted_in_the_insights(desk, monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'no-conversations.db'}")
    first, second, untagged = escalate("c1"), escalate("c2"), escalate("c3")
    agent = await desk.login("agent")
    for escalation_id, tags in ((first, ["盗刷", "需回访"]), (second, ["盗刷"])):
        for tag in tags:
            await post_json(agent, f"/api/escalations/{escalation_id}/tags", {"tag": tag})
    found = await (await agent.get("/api/escalations/search", params={"tag": "盗刷"})).json()
    assert sorted(row["id"] for row in found["escalations"]) == sorted([first, second])
    assert untagged not in [row["id"] for row in found["escalations"]]
    boss = await desk.login("boss")
    day = {"from": "2026-09-28", "to": "2026-09-28"}
    figures = (await (await boss.get("/api/insights", params=day)).json())["insights"]
    assert figures["handoffs"] == 3 and figures["by_tag"] == [{"tag": "盗刷", "count": 2}, {"tag": "需回访", "count": 1}]
    page = await (await boss.get("/insights", params=day)).text()
    assert 'data-table="tags"' in page and "需回访" in page
    csv = await (await boss.get("/insights/tags.csv", params=day)).text()
    assert "盗刷,2" in csv
