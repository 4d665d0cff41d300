"""Finding cases (bot.bank.handoff.search, bot.desk.pages.case_search) over HTTP."""
from __future__ import annotations

from typing import Dict, List

import pytest
from sqlalchemy import text

from bot.bank.db import transaction
from bot.bank.handoff import escalations as handoff
from bot.bank.models import Customer
from bot.bank.seed import seed
from tests.bankdb import postgres_available, scratch_postgres, serve
from tests.test_desk import NOW, post_form, post_json
from tests import test_desk_escalations as escalation_tests
from tests.test_desk_escalations import PHONE, STOLEN, callback, escalate, staff_id

desk, rasa = escalation_tests.desk, escalation_tests.rasa   # fixtures

TWO_DAYS = 2 * 24 * 60


def known_customer_case(conversation: str, phone: str) -> int:
    with transaction() as session:
        customer = Customer(phone=phone, name="王五")
        session.add(customer)
        session.flush()
        customer_id = customer.id
    ticket = serve(handoff.open_escalation, conversation, "wechat", "hardship",
                   [{"role": "user", "text": "这个月还不上了", "at": "1790000000.0"}], customer_id)
    with transaction() as session:
        return session.query(handoff.Escalation.id).filter_by(reference=ticket.reference).scalar()


async def found(client, **query: str) -> List[int]:
    response = await client.get("/api/escalations/search", params=query)
    assert response.status == 200, await response.text()
    return [row["id"] for row in (await response.json())["escalations"]]


async def refused(client, **query: str) -> Dict[str, str]:
    response = await client.get("/api/escalations/search", params=query)
    assert response.status == 400
    return await response.json()


async def test_cases_are_found_by_the_last_four_digits_of_any_phone_the_case_knows(desk):
    stolen = escalate("c-stolen", "lost_card")               # typed in the conversation, masked
    called = callback("c-callback")                           # the callback number
    customer = known_customer_case("c-known", "13900139111")  # the customer's verified phone
    escalate("c-other", transcript=[{"role": "user", "text": "理财产品有哪些", "at": "1790000000.0"}])
    agent = await desk.login("agent")
    assert sorted(await found(agent, phone="8000")) == sorted([stolen, called])
    assert await found(agent, phone="9111") == [customer]
    assert await found(agent, phone="1234") == []
    assert "后 4 位" in (await refused(agent, phone=PHONE))["message"]
    page = await (await agent.get("/escalations/search", params={"phone": "8000"})).text()
    assert "找到 <strong>2</strong> 条" in page and "138****8000" in page and PHONE not in page


async def test_cases_are_found_by_reference_words_reason_priority_and_agent(desk):
    stolen = escalate("c-stolen", "lost_card")
    other = escalate("c-other", transcript=[{"role": "user", "text": "理财产品有哪些", "at": "1790000000.0"}])
    agent = await desk.login("agent")
    body = await (await agent.get(f"/api/escalations/{stolen}")).json()
    assert await found(agent, reference=body["escalation"]["reference"].lower()) == [stolen]
    assert await found(agent, words="盗刷") == [stolen]
    assert await found(agent, words="理财") == [other]
    assert await found(agent, words="100%") == []
    assert await found(agent, reason="lost_card") == [stolen]
    assert await found(agent, priority="normal") == [other]
    await post_form(agent, f"/escalations/{other}/claim", {})
    await post_json(agent, f"/api/escalations/{other}/reply", {"text": "稳健型的有定期和大额存单"})
    await post_json(agent, f"/api/escalations/{other}/notes", {"text": "客户想约理财经理面谈"})
    assert await found(agent, words="大额存单") == [other]
    assert await found(agent, words="理财经理") == [other]
    assert await found(agent, agent=str(staff_id("agent"))) == [other]
    assert await found(agent, agent=str(staff_id("boss"))) == []
    assert (await refused(agent, reason="bored"))["error"] == "invalid"


async def test_a_date_range_covers_whole_days_in_bank_time(desk):
    today = escalate("c-today")
    older = escalate("c-older", waited=TWO_DAYS)
    agent = await desk.login("agent")
    assert await found(agent, since="2026-09-26", until="2026-09-26") == [older]
    assert await found(agent, since="2026-09-27") == [today]
    assert await found(agent, until="2026-09-28") == [today, older]   # newest first
    assert "开始日期不能晚于结束日期" in (await refused(agent, since="2026-09-28", until="2026-09-26"))["message"]


async def test_search_follows_the_queues_access_rules(desk):
    escalate("c-stolen", "lost_card")
    branch = await desk.login("futian")
    assert (await branch.get("/api/escalations/search", params={"phone": "8000"})).status == 403
    assert (await branch.get("/escalations/search", allow_redirects=False)).status == 403
    boss = await desk.login("boss")
    assert len(await found(boss, phone="8000")) == 1
    anonymous = await desk.client()
    assert (await anonymous.get("/api/escalations/search", params={"phone": "8000"})).status == 401
    empty = await (await (await desk.login("agent")).get("/escalations/search")).text()
    assert "查找接待记录" in empty and "找到" not in empty


@pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not running (.ci/run starts it)")
def test_the_search_works_on_postgresql_with_its_trigram_index(tmp_path, monkeypatch):
    from bot.bank.handoff.search import CaseQuery, search

    monkeypatch.setenv("HELPLINE_DATA_DIR", str(tmp_path))
    with scratch_postgres() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        seed(today=NOW.date())
        serve(handoff.open_escalation, "c-stolen", "widget", "lost_card", STOLEN, at=NOW)
        serve(handoff.open_escalation, "c-other", "widget", "human",
              [{"role": "user", "text": "理财_产品 100% 保本吗", "at": "1790000000.0"}], at=NOW)
        with transaction() as session:
            assert [row.reason for row in search(session, CaseQuery(words="盗刷"), at=NOW)] == ["lost_card"]
            assert [row.reason for row in search(session, CaseQuery(phone_digits="8000"), at=NOW)] == ["lost_card"]
            assert [row.reason for row in search(session, CaseQuery(words="100%"), at=NOW)] == ["human"]
            assert search(session, CaseQuery(words="理%产"), at=NOW) == []
            index = session.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'escalation_search_text'"))
            assert "gin_trgm_ops" in index.scalar_one()
