"""Escalations as the bank's rules say: priorities, one ticket per conversation,
queue positions, callbacks, and every customer-facing step in the outbox."""
from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import select

from bot.bank.handoff import escalations as handoff
from bot.bank.db import transaction
from bot.bank.models import Escalation, Outbox, Staff
from bot.clock import SHANGHAI
from bot.bank.profile import load_profile
from bot.bank.refusals import Refusal
from bot.bank.seed import seed
from tests.bankdb import postgres_available, refused, scratch_postgres, serve

NOW = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)    # the bank_db clock: Monday morning, on duty
STOLEN = [{"role": "user", "text": "我的卡6222020200000000006被盗刷了，手机13800138000", "at": "t1"},
          {"role": "bot", "text": "请先冻结卡片", "at": "t2"}]


def add_agent(name: str, username: str, online: bool = True, role: str = "agent") -> int:
    with transaction() as session:
        staff = Staff(username=username, display_name=name, role=role, password_hash="x", active=True,
                      session_epoch=0, created_at=NOW, last_seen_at=NOW if online else None)
        session.add(staff)
        session.flush()
        return staff.id


def outbox_rows(conversation_id: str):
    with transaction() as session:
        return list(session.execute(select(Outbox).where(Outbox.channel_user == conversation_id)
                                    .order_by(Outbox.id)).scalars())


def escalation(reference: str) -> Escalation:
    with transaction() as session:
        return session.execute(select(Escalation).where(Escalation.reference == reference)).scalar_one()


@pytest.fixture
def agent(bank_db):
    return add_agent("王小明", "wang")


def test_a_stolen_card_is_urgent_and_its_transcript_masked(agent):
    ticket = serve(handoff.open_escalation, "c1", "rest", "lost_card", STOLEN)
    row = escalation(ticket.reference)
    assert (row.priority, row.status, row.channel) == ("urgent", "waiting", "rest")
    said = row.transcript[0]["text"]
    assert "6222020200000000006" not in said and "***************0006" in said
    assert "13800138000" not in said and "*******8000" in said
    assert row.summary == said and ticket.position == 1 and ticket.wait_minutes >= 1


def test_the_same_conversation_gets_its_ticket_again_and_urgency_only_rises(agent):
    first = serve(handoff.open_escalation, "c1", "rest", "human", STOLEN)
    again = serve(handoff.open_escalation, "c1", "rest", "fraud", STOLEN)
    assert again.reference == first.reference and again.priority == "urgent"
    calmer = serve(handoff.open_escalation, "c1", "rest", "complaint", STOLEN)
    assert calmer.priority == "urgent"


def test_queue_position_counts_more_urgent_and_older_cases(agent):
    serve(handoff.open_escalation, "a", "rest", "human", [])
    serve(handoff.open_escalation, "b", "rest", "complaint", [])
    urgent = serve(handoff.open_escalation, "c", "rest", "fraud", [])
    later = serve(handoff.open_escalation, "d", "rest", "human", [])
    assert urgent.position == 1          # jumps the queue
    assert later.position == 4           # behind the fraud, the complaint and the older "human"
    assert [entry.reference for entry in serve(handoff.queue)][0] == urgent.reference


def test_wait_estimate_shrinks_with_more_agents_online(agent):
    for name in "abc":
        serve(handoff.open_escalation, name, "rest", "human", [])
    one_agent = serve(handoff.ticket_for, "c").wait_minutes
    add_agent("李敏", "li")
    assert serve(handoff.ticket_for, "c").wait_minutes < one_agent


def test_nobody_is_available_out_of_hours_or_when_no_agent_is_online(bank_db):
    assert serve(handoff.agents_available, at=NOW) == 0                 # no agent has opened the console
    add_agent("王小明", "wang")
    assert serve(handoff.agents_available, at=NOW) == 1
    assert serve(handoff.agents_available, at=NOW.replace(hour=23)) == 0
    add_agent("老陈", "chen", online=False)
    assert serve(handoff.agents_available, at=NOW) == 1


def test_claim_reply_close_tell_the_customer_and_resume_the_bot(agent):
    ticket = serve(handoff.open_escalation, "c1", "rest", "lost_card", STOLEN)
    row_id = escalation(ticket.reference).id
    serve(handoff.claim, row_id, agent)
    serve(handoff.reply, row_id, agent, "您好，卡已经帮您冻结了。")
    serve(handoff.close, row_id, agent, "已冻结并指导补卡")
    kinds = [(row.kind, row.payload["resume"]) for row in outbox_rows("c1")]
    assert kinds == [("handoff_joined", False), ("agent_message", False), ("handoff_closed", True)]
    joined, answer, closed = outbox_rows("c1")
    assert "王客服" in joined.payload["messages"][1]["text"] and "王小明" not in str(joined.payload)
    assert answer.payload["messages"] == [{"text": "您好，卡已经帮您冻结了。", "metadata": {"agent": "王客服"}}]
    assert closed.payload["messages"][0]["custom"]["handoff"] == "left"
    done = escalation(ticket.reference)
    assert done.status == "resolved" and done.first_reply_at and done.resolved_at
    assert done.close_note == "已冻结并指导补卡"


def test_a_claimed_case_cannot_be_taken_or_answered_by_another_agent(agent):
    other = add_agent("李敏", "li")
    row_id = escalation(serve(handoff.open_escalation, "c1", "rest", "human", []).reference).id
    serve(handoff.claim, row_id, agent)
    serve(handoff.claim, row_id, agent)                       # re-claiming one's own case is harmless
    with refused("taken"):
        serve(handoff.claim, row_id, other)
    with refused("not_yours"):
        serve(handoff.reply, row_id, other, "你好")
    with refused("invalid"):
        serve(handoff.reply, row_id, agent, "   ")
    assert len(outbox_rows("c1")) == 1                 # only the "joined" notice


def test_transfer_moves_the_case_and_leaves_a_note(agent):
    other = add_agent("李敏", "li")
    row_id = escalation(serve(handoff.open_escalation, "c1", "rest", "complaint", []).reference).id
    serve(handoff.claim, row_id, agent)
    serve(handoff.add_note, row_id, agent, "客户情绪激动，先道歉")
    serve(handoff.transfer, row_id, agent, other)
    serve(handoff.reply, row_id, other, "您好，我来跟进。")
    detail = serve(handoff.detail, row_id)
    assert detail.entry.assignee == "李敏"
    assert [note["text"] for note in detail.notes] == ["客户情绪激动，先道歉", "转给 李敏"]
    assert "李客服" in outbox_rows("c1")[1].payload["messages"][1]["text"]
    with pytest.raises(Refusal):
        serve(handoff.reply, row_id, agent, "我还在")


def test_callbacks_are_recorded_and_finished(agent):
    ticket = serve(handoff.request_callback, "c9", "wechat", "home_service", "13800138000", "明天上午9-12点", STOLEN)
    row = escalation(ticket.reference)
    assert (row.status, row.callback_phone, row.priority) == ("callback_requested", "13800138000", "high")
    serve(handoff.finish_callback, row.id, agent, reached=False, note="无人接听")
    assert escalation(ticket.reference).status == "callback_requested"
    serve(handoff.finish_callback, row.id, agent, reached=True)
    done = escalation(ticket.reference)
    assert done.status == "resolved" and done.callback_reached_at is not None
    assert serve(handoff.open_escalation, "c9", "wechat", "human", []).reference != ticket.reference


def test_sla_marks_cases_without_a_first_reply_as_overdue(agent, monkeypatch):
    serve(handoff.open_escalation, "c1", "rest", "fraud", [])
    assert not serve(handoff.queue)[0].overdue
    monkeypatch.setenv("HELPLINE_NOW", "2026-09-28T09:33:00+08:00")
    entry = serve(handoff.queue)[0]
    assert entry.waited_minutes == 3 and entry.sla_minutes == 2 and entry.overdue


def test_a_case_nobody_takes_goes_back_to_the_bot_with_the_hotline(agent, monkeypatch):
    ticket = serve(handoff.open_escalation, "c1", "rest", "human", [])
    serve(handoff.open_escalation, "w1", "wechat", "human", [])
    assert serve(handoff.release_unclaimed, "rest") == 0                 # not yet
    monkeypatch.setenv("HELPLINE_NOW", "2026-09-28T09:51:00+08:00")
    assert serve(handoff.release_unclaimed, "rest") == 1
    assert escalation(ticket.reference).status == "resolved"
    (row,) = outbox_rows("c1")
    assert row.payload["resume"] and "400-830-9595" in row.payload["messages"][1]["text"]
    # nobody joined, so nobody "left"; and the apology does not blame the staff
    assert row.payload["messages"][0] == {"custom": {"handoff": "unclaimed"}}
    assert row.payload["messages"][1]["metadata"]["utter_action"] == "utter_handoff_unclaimed"
    assert serve(handoff.ticket_for, "w1") is not None                   # other channels wait for their own loop


def test_a_distress_case_nobody_takes_repeats_the_crisis_line(agent, monkeypatch):
    serve(handoff.open_escalation, "d1", "rest", "distress", [])
    monkeypatch.setenv("HELPLINE_NOW", "2026-09-28T09:51:00+08:00")
    assert serve(handoff.release_unclaimed, "rest") == 1
    (row,) = outbox_rows("d1")
    apology = row.payload["messages"][1]
    assert apology["metadata"]["utter_action"] == "utter_handoff_unclaimed_distress"
    assert load_profile().crisis_line in apology["text"] and "110" in apology["text"] and "120" in apology["text"]


@pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not running (.ci/run starts it)")
def test_two_agents_claiming_one_case_at_once_on_postgresql_one_gets_it(tmp_path, monkeypatch):
    """The first claim holds the case's row until it commits; the second waits, then sees the case
    taken, so the customer is greeted once, by one person."""
    monkeypatch.setenv("HELPLINE_DATA_DIR", str(tmp_path))
    with scratch_postgres() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        seed(today=NOW.date())
        first, second = add_agent("李敏", "limin"), add_agent("周杰", "zhou")
        case = escalation(serve(handoff.open_escalation, "c1", "widget", "fraud", STOLEN, at=NOW).reference)
        claimed = threading.Event()

        def slow_claim() -> None:
            with transaction() as session:
                handoff.claim(session, case.id, first, at=NOW)
                session.flush()
                claimed.set()
                time.sleep(0.5)   # still uncommitted while the colleague presses 接入

        holder = threading.Thread(target=slow_claim)
        holder.start()
        assert claimed.wait(10)
        with refused("taken"):
            serve(handoff.claim, case.id, second, at=NOW)
        holder.join()
        assert escalation(case.reference).assignee_id == first
        assert [row.kind for row in outbox_rows("c1")].count("handoff_joined") == 1
