"""The satisfaction question: once a day, never during an urgent case or on the day of fraud or distress."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.bank.csat import surveys as csat
from bot.bank.handoff import escalations as handoff
from bot.bank.db import transaction
from bot.bank.models import CsatSurvey
from tests.bankdb import serve
from actions.csat import score_from
from tests.test_handoff_service import add_agent, escalation, outbox_rows


def surveys():
    with transaction() as session:
        return [(s.conversation_id, s.score, s.comment, s.escalation_id)
                for s in session.execute(select(CsatSurvey).order_by(CsatSurvey.id)).scalars()]


def test_asked_once_a_day_per_conversation(bank_db, monkeypatch):
    assert serve(csat.ask, "c1", "rest") is True
    assert serve(csat.ask, "c1", "rest") is False
    assert serve(csat.ask, "c2", "rest") is True
    monkeypatch.setenv("HELPLINE_NOW", "2026-09-29T09:00:00+08:00")
    assert serve(csat.ask, "c1", "rest") is True


def test_the_same_customer_is_not_asked_twice_on_two_channels(bank_db):
    from bot.bank.customers.identity import customer_by_phone
    with transaction() as session:
        customer_id = customer_by_phone(session, "13800138000").id
    assert serve(csat.ask, "web-1", "widget", customer_id)
    assert not serve(csat.ask, "wx-1", "wechat", customer_id)


def test_not_asked_while_an_urgent_case_is_open(bank_db):
    add_agent("王小明", "wang")
    serve(handoff.open_escalation, "c1", "rest", "lost_card", [])
    assert serve(csat.ask, "c1", "rest") is False


def test_not_asked_when_a_fraud_case_is_closed_that_day(bank_db, monkeypatch):
    agent = add_agent("王小明", "wang")
    row_id = escalation(serve(handoff.open_escalation, "c1", "rest", "fraud", []).reference).id
    serve(handoff.claim, row_id, agent)
    serve(handoff.close, row_id, agent)
    said = [message.get("metadata", {}).get("utter_action") for message in outbox_rows("c1")[-1].payload["messages"]]
    assert "utter_agent_left" in said and "utter_csat_question" not in said
    assert serve(csat.ask, "c1", "rest") is False
    monkeypatch.setenv("HELPLINE_NOW", "2026-09-29T09:00:00+08:00")
    assert serve(csat.ask, "c1", "rest") is True


def test_closing_a_case_asks_and_the_answer_and_comment_are_stored(bank_db):
    agent = add_agent("王小明", "wang")
    ticket = serve(handoff.open_escalation, "c1", "rest", "complaint", [])
    row_id = escalation(ticket.reference).id
    serve(handoff.claim, row_id, agent)
    serve(handoff.close, row_id, agent)
    closing = outbox_rows("c1")[-1].payload["messages"]
    assert closing[-1]["metadata"]["utter_action"] == "utter_csat_question"
    assert closing[-1]["buttons"][0]["payload"] == '/rate_service{"csat_score":"5"}'
    assert serve(csat.record_score, "c1", 2) and serve(csat.record_comment, "c1", "  等得太久了 ")
    assert surveys() == [("c1", 2, "等得太久了", row_id)]


def test_an_answer_without_a_question_is_not_stored(bank_db):
    assert serve(csat.record_score, "nobody", 5) is False
    assert surveys() == []


@pytest.mark.parametrize("said, score", [
    ("5", 5), ("打5分吧", 5), ("五分", 5), ("满意", 5), ("滿意", 5), ("不满意", 1), ("不太满意", 2),
    ("一般般", 3), ("4分吧 还可以", 4), ("差评", 1), ("随便", None), ("6", None),
])
def test_typed_scores(said, score):
    assert score_from(said) == score
