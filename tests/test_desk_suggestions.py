"""Suggested answers on a case (bot.desk.pages.suggestions, bot.knowledge.suggest) over HTTP:
the bot's matcher over the published knowledge base, for the customer's latest message."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.bank.db import transaction
from bot.bank.knowledge import topics
from bot.bank.models import SuggestionUse
from bot.knowledge import live
from tests.test_desk import NOW, post_form, post_json
from tests import test_desk_escalations as escalation_tests
from tests.test_desk_escalations import escalate

desk, rasa = escalation_tests.desk, escalation_tests.rasa   # fixtures

# A small published knowledge base keeps the matcher's training short.
KEPT = ("early_repayment", "credit_report", "frozen_account")
EARLY = "我想提前还款，13800138000 这个号码绑定的贷款，要收违约金吗"


def keep_published(monkeypatch, kept=KEPT) -> None:
    """Withdraw every published topic but `kept`; the console's matcher is built anew from them."""
    with transaction() as session:
        for article in topics.published_articles(session):
            if article.key not in kept:
                topics.withdraw(session, article.key, author="测试", at=NOW)
    monkeypatch.setattr(live.published, "_current", None)


@pytest.fixture
def small_knowledge_base(desk, monkeypatch):
    keep_published(monkeypatch)


def asked(conversation: str, question: str) -> int:
    return escalate(conversation, transcript=[{"role": "user", "text": question, "at": "1790000000.0"}])


async def claimed(desk, escalation_id: int):
    agent = await desk.login("agent")
    assert (await post_form(agent, f"/escalations/{escalation_id}/claim", {})).status == 303
    return agent


async def test_the_agent_on_a_case_gets_the_approved_answer_to_the_customers_question(desk, small_knowledge_base):
    escalation_id = asked("c1", EARLY)
    agent = await claimed(desk, escalation_id)
    body = await (await agent.get(f"/api/escalations/{escalation_id}/suggestions")).json()
    assert body["question"] == "我想提前还款，*******8000 这个号码绑定的贷款，要收违约金吗"
    first = body["suggestions"][0]
    assert first["key"] == "early_repayment" and first["title"] == "提前还款"
    assert "鹏城银行App" in first["answer"] and "{" not in first["answer"]
    assert len(body["suggestions"]) <= 3
    page = await (await agent.get(f"/escalations/{escalation_id}")).text()
    assert f'data-suggestions="/api/escalations/{escalation_id}/suggestions"' in page and "/static/suggestions.js" in page


async def test_a_new_customer_message_brings_new_suggestions_and_small_talk_none(desk, rasa, small_knowledge_base):
    escalation_id = asked("c1", EARLY)
    agent = await claimed(desk, escalation_id)
    rasa.say("c1", "user", "我的征信报告在哪里能查到", 1790000100.0)
    body = await (await agent.get(f"/api/escalations/{escalation_id}/suggestions")).json()
    assert body["question"] == "我的征信报告在哪里能查到"
    assert body["suggestions"][0]["key"] == "credit_report"
    rasa.say("c1", "user", "还在吗？能快点吗", 1790000200.0)
    body = await (await agent.get(f"/api/escalations/{escalation_id}/suggestions")).json()
    assert body == {"question": "还在吗？能快点吗", "suggestions": []}


async def test_only_the_agent_handling_the_case_gets_suggestions(desk, small_knowledge_base):
    waiting = asked("c-waiting", EARLY)
    agent = await desk.login("agent")
    refused = await agent.get(f"/api/escalations/{waiting}/suggestions")
    assert refused.status == 409 and "正在接待" in (await refused.json())["message"]
    claimed_case = asked("c-claimed", EARLY)
    await claimed(desk, claimed_case)
    boss = await desk.login("boss")
    assert (await boss.get(f"/api/escalations/{claimed_case}/suggestions")).status == 409
    assert (await (await desk.login("futian")).get(f"/api/escalations/{claimed_case}/suggestions")).status == 403


async def test_a_used_suggestion_is_recorded_masked_and_counted_for_the_editors(desk, small_knowledge_base):
    escalation_id = asked("c1", EARLY)
    agent = await claimed(desk, escalation_id)
    body = await (await agent.get(f"/api/escalations/{escalation_id}/suggestions")).json()
    used = await post_json(agent, f"/api/escalations/{escalation_id}/suggestions/used",
                           {"key": "early_repayment", "question": "提前还款，手机 13800138000"})
    assert used.status == 200 and body["suggestions"][0]["key"] == "early_repayment"
    with transaction() as session:
        [row] = session.execute(select(SuggestionUse)).scalars().all()
        assert (row.topic_key, row.escalation_id, row.question) == ("early_repayment", escalation_id,
                                                                     "提前还款，手机 *******8000")
    unknown = await post_json(agent, f"/api/escalations/{escalation_id}/suggestions/used", {"key": "nothing_here"})
    assert unknown.status == 404
    boss = await desk.login("boss")
    usage = await (await boss.get("/api/knowledge/suggestion-uses")).json()
    assert usage == {"topics": [{"topic_key": "early_repayment", "uses": 1,
                                 "last_question": "提前还款，手机 *******8000"}]}
    assert (await agent.get("/api/knowledge/suggestion-uses")).status == 403
    other = asked("c2", EARLY)
    assert (await post_json(agent, f"/api/escalations/{other}/suggestions/used",
                            {"key": "early_repayment"})).status == 409
