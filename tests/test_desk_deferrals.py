"""The staff console's deferral queue (bot.desk.pages.deferrals) over HTTP."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.bank.debit_day import applications as deferral
from bot.bank.db import transaction
from bot.bank.customers.identity import customer_by_phone
from bot.bank.models import DeferralRequest, Loan, Outbox
from bot.bank.profile import load_profile
from bot.bank.staff.accounts import create_staff
from bot.desk.app import create_app
from bot.bank.debit_day.models import RequestStatus
from tests.test_desk import ACCOUNTS, NOW, PASSWORD, Desk, csrf_of, post_form, post_json

HOME = "PC2020HL000123"       # 陈志明 13800138000, co-borrower 林秀英 13800138001
CONSUMER = "PC2022XF004521"   # 黄丽萍 13900139000, single borrower
BUSINESS = "PC2019JY000876"   # 刘建华 13700137000, two co-borrowers
CHEN, HUANG, LIU, LIN = "13800138000", "13900139000", "13700137000", "13800138001"


@pytest.fixture
async def desk(bank_db, monkeypatch):
    """The console with the same accounts as tests/test_desk.py (agent, boss, futian, nanshan)."""
    monkeypatch.setenv("DESK_BCRYPT_ROUNDS", "4")
    with transaction() as session:
        for username, (role, branch_id, name) in ACCOUNTS.items():
            create_staff(session, username=username, display_name=name, role=role, password=PASSWORD,
                         when=NOW, branch_id=branch_id)
    server = TestServer(create_app())
    await server.start_server()
    console = Desk(server.app, server)
    yield console
    for client in console.clients:
        await client.close()
    await server.close()


def submit(phone: str, loan: str, day: int, hardship: bool = False, when: datetime = NOW,
           channel: str = "wechat") -> str:
    with transaction() as session:
        made = deferral.submit_request(session, customer_by_phone(session, phone), loan, day, "收入减少",
                                       hardship, channel, f"{channel}-user-{phone}", when)
    assert made.ok and made.created, made
    return made.request.reference


def loan(contract_no: str) -> Loan:
    with transaction() as session:
        return session.execute(select(Loan).where(Loan.contract_no == contract_no)).scalar_one()


def status_of(reference: str) -> str:
    with transaction() as session:
        return session.execute(select(DeferralRequest.status)
                               .where(DeferralRequest.reference == reference)).scalar_one()


def outbox() -> list:
    with transaction() as session:
        return list(session.execute(select(Outbox).order_by(Outbox.id)).scalars())


async def test_queue_puts_hardship_first_then_oldest(desk):
    home = submit(CHEN, HOME, 15, when=NOW - timedelta(hours=2))
    business = submit(LIU, BUSINESS, 15, when=NOW - timedelta(days=3))
    consumer = submit(HUANG, CONSUMER, 28, hardship=True, when=NOW - timedelta(hours=1))
    agent = await desk.login("agent")
    body = await (await agent.get("/api/deferrals")).json()
    assert [r["reference"] for r in body["requests"]] == [consumer, business, home]
    first = body["requests"][0]
    assert first["hardship"] and first["borrower_name"] == "黄丽萍" and first["borrower_phone"] == HUANG
    assert body["requests"][1]["age"] == "3 天"
    [task] = body["requests"][2]["confirmations"]
    assert (task["name"], task["phone"], task["status"]) == ("林秀英", LIN, "pending")
    page = await (await agent.get("/deferrals")).text()
    assert page.index(consumer) < page.index(business) < page.index(home)
    assert "困难" in page and "林秀英" in page and LIN in page and CHEN in page   # unmasked for staff
    assert "扣款日变更申请" in page and 'href="/deferrals"' in page
    token = await csrf_of(agent)
    assert page.count(f'name="csrf_token" value="{token}"') >= 6   # every action form carries it


async def test_anonymous_visitors_are_refused(desk):
    reference = submit(HUANG, CONSUMER, 28)
    client = await desk.client()
    page = await client.get("/deferrals", allow_redirects=False)
    assert page.status == 302 and page.headers["Location"].startswith("/login")
    for path in ("/api/deferrals", f"/api/deferrals/{reference}"):
        assert (await client.get(path)).status == 401
    assert (await client.post(f"/api/deferrals/{reference}/approve", json={})).status == 401
    assert status_of(reference) == RequestStatus.SUBMITTED


async def test_branch_staff_may_not_see_or_decide_deferrals(desk):
    reference = submit(HUANG, CONSUMER, 28)
    clerk = await desk.login("futian")
    for path in ("/deferrals", "/api/deferrals", f"/deferrals/{reference}", f"/api/deferrals/{reference}"):
        assert (await clerk.get(path, allow_redirects=False)).status == 403, path
    assert (await post_json(clerk, f"/api/deferrals/{reference}/approve", {})).status == 403
    assert (await post_form(clerk, f"/deferrals/{reference}/reject", {"note": "不行"})).status == 403
    assert status_of(reference) == RequestStatus.SUBMITTED
    assert 'href="/deferrals"' not in await (await clerk.get("/bookings")).text()


async def test_approval_is_refused_until_every_co_borrower_confirmed(desk):
    reference = submit(CHEN, HOME, 15)
    before = loan(HOME)
    agent = await desk.login("agent")
    response = await post_json(agent, f"/api/deferrals/{reference}/approve", {})
    assert response.status == 409
    body = await response.json()
    assert body["error"] == "unconfirmed" and "共同借款人" in body["message"]
    form = await post_form(agent, f"/deferrals/{reference}/approve", {})
    assert form.status == 303 and form.headers["Location"] == f"/deferrals/{reference}"
    page = await (await agent.get(form.headers["Location"])).text()
    assert "共同借款人" in page and "disabled" in page and "林秀英" in page
    assert 'action="/deferrals/%s/approve"' % reference not in page
    after = loan(HOME)
    assert (after.debit_day, after.next_due) == (before.debit_day, before.next_due)
    assert status_of(reference) == RequestStatus.AWAITING_CONFIRMATION and outbox() == []


async def test_a_refused_co_borrower_blocks_approval(desk):
    reference = submit(CHEN, HOME, 15)
    agent = await desk.login("agent")
    response = await post_json(agent, f"/api/deferrals/{reference}/confirm",
                               {"phone": LIN, "outcome": "refused", "call_reference": "REC-1"})
    assert response.status == 200
    assert (await response.json())["request"]["can_approve"] is False
    assert (await post_json(agent, f"/api/deferrals/{reference}/approve", {})).status == 409
    assert "不同意" in await (await agent.get(f"/deferrals/{reference}")).text()


async def test_confirm_then_approve_moves_the_debit_day_and_queues_the_message(desk):
    reference = submit(CHEN, HOME, 15)
    agent = await desk.login("agent")
    missing = await post_json(agent, f"/api/deferrals/{reference}/confirm",
                              {"phone": LIN, "outcome": "confirmed", "call_reference": " "})
    assert missing.status == 400 and "通话编号" in (await missing.json())["message"]
    confirmed = await post_form(agent, f"/deferrals/{reference}/confirm",
                                {"phone": LIN, "outcome": "confirmed", "call_reference": "REC-20260928-01",
                                 "back": "/deferrals"})
    assert confirmed.status == 303 and confirmed.headers["Location"] == "/deferrals"
    page = await (await agent.get("/deferrals")).text()
    assert "已登记" in page and "REC-20260928-01" in page and f"/deferrals/{reference}/approve" in page
    assert status_of(reference) == RequestStatus.SUBMITTED

    approved = await post_form(agent, f"/deferrals/{reference}/approve", {})
    assert approved.status == 303
    with transaction() as session:
        request = session.execute(select(DeferralRequest).where(DeferralRequest.reference == reference)).scalar_one()
        new_due, decided_by = request.new_due, request.decided_by
    home = loan(HOME)
    assert home.debit_day == 15 and home.next_due == new_due and decided_by == "agent"
    [row] = outbox()
    assert (row.channel, row.channel_user, row.kind) == ("wechat", f"wechat-user-{CHEN}", "deferral_decision")
    assert row.delivered_at is None and row.payload["reference"] == reference
    message = row.payload["messages"][0]
    text = message["text"]
    assert message["metadata"]["utter_action"] == "utter_deferral_approved" and "每月15日扣款" in text
    assert f"{new_due.month}月{new_due.day}日" in text and load_profile().hotline in text
    assert HOME not in text and "0123" in text   # only the contract number's tail

    assert (await (await agent.get("/api/deferrals")).json())["requests"] == []
    detail = await (await agent.get(f"/deferrals/{reference}")).text()
    assert "已通过" in detail and "agent" in detail
    body = await (await agent.get(f"/api/deferrals/{reference}")).json()
    assert body["request"]["status"] == "approved" and body["request"]["decided_by"] == "agent"
    again = await post_json(agent, f"/api/deferrals/{reference}/approve", {})
    assert again.status == 409 and "已经处理过" in (await again.json())["message"]


async def test_single_borrower_request_is_approved_at_once_over_json(desk):
    reference = submit(HUANG, CONSUMER, 28, channel="rest")
    boss = await desk.login("boss")
    response = await post_json(boss, f"/api/deferrals/{reference}/approve", {"note": "核实无误"})
    assert response.status == 200
    body = await response.json()
    assert body["decision"]["outcome"] == "approved" and body["request"]["status"] == "approved"
    assert loan(CONSUMER).debit_day == 28
    [row] = outbox()
    assert (row.channel, row.channel_user) == ("rest", f"rest-user-{HUANG}")
    assert "核实无误" not in row.payload["messages"][0]["text"]    # the approval note is internal


async def test_reject_needs_a_note_that_is_sent_to_the_customer(desk):
    reference = submit(HUANG, CONSUMER, 28)
    before = loan(CONSUMER)
    agent = await desk.login("agent")
    page = await (await agent.get("/deferrals")).text()
    assert "原样发送给客户" in page
    empty = await post_json(agent, f"/api/deferrals/{reference}/reject", {"note": "   "})
    assert empty.status == 400 and "原因" in (await empty.json())["message"]
    form = await post_form(agent, f"/deferrals/{reference}/reject", {"note": ""})
    assert form.status == 303
    assert status_of(reference) == RequestStatus.SUBMITTED and outbox() == []

    note = "本期已扣款成功，下期还款前再申请即可"
    rejected = await post_form(agent, f"/deferrals/{reference}/reject", {"note": note})
    assert rejected.status == 303
    assert status_of(reference) == RequestStatus.REJECTED
    assert loan(CONSUMER).debit_day == before.debit_day
    [row] = outbox()
    assert (row.channel, row.channel_user) == ("wechat", f"wechat-user-{HUANG}")
    assert note in row.payload["messages"][0]["text"] and load_profile().hotline in row.payload["messages"][0]["text"]
    assert row.payload["messages"][0]["metadata"]["utter_action"] == "utter_deferral_rejected"
    # the debit date that still stands, so the customer does not skip it
    assert f"{before.next_due.month}月{before.next_due.day}日" in row.payload["messages"][0]["text"]
    detail = await (await agent.get(f"/deferrals/{reference}")).text()
    assert "未通过" in detail and note in detail


async def test_csrf_is_enforced_for_every_action(desk):
    reference = submit(CHEN, HOME, 15)
    agent = await desk.login("agent")
    base = f"/deferrals/{reference}"
    forms = {"confirm": {"phone": LIN, "outcome": "confirmed", "call_reference": "REC-1"},
             "approve": {}, "reject": {"note": "不符合条件"}}
    for action, data in forms.items():
        assert (await post_form(agent, f"{base}/{action}", data, csrf=False)).status == 403, action
        response = await agent.post(f"/api{base}/{action}", json=data)
        assert response.status == 403, action
        wrong = await agent.post(f"/api{base}/{action}", json=data, headers={"X-CSRF-Token": "forged"})
        assert wrong.status == 403, action
    assert status_of(reference) == RequestStatus.AWAITING_CONFIRMATION and outbox() == []
    assert (await csrf_of(agent))


async def test_find_by_reference_and_unknown_references(desk):
    reference = submit(HUANG, CONSUMER, 28)
    agent = await desk.login("agent")
    found = await agent.get(f"/deferrals?reference={reference.lower()}", allow_redirects=False)
    assert found.status == 302 and found.headers["Location"] == f"/deferrals/{reference}"
    missing = await agent.get("/deferrals/YQ000000")
    assert missing.status == 404 and "没有找到这笔申请" in await missing.text()
    api = await agent.get("/api/deferrals/YQ000000")
    assert api.status == 404 and (await api.json())["error"] == "not_found"
    assert re.search(r"<code>%s</code>" % reference, await (await agent.get(f"/deferrals/{reference}")).text())
