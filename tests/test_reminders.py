"""Day-before booking reminders: once across servers, what to bring, opt-outs, and the no-show figures."""
from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from bot.bank.booking import counter
from bot.bank.booking import lifecycle as bookings
from bot.bank.capacity import slots as tickets
from bot.bank.customers.identity import customer_by_phone, link
from bot.bank.db import transaction
from bot.bank.hours.timetable import find_branch
from bot.bank.messaging import notifications
from bot.bank.messaging.models import Notification, Outbox
from bot.bank.seed import seed
from bot.channels.delivery import SmsDelivery, remind_once
from bot.clock import SHANGHAI
from bot.insights.figures import Period, Rate
from bot.insights.report import compute
from tests import test_desk as shared
from tests.bankdb import postgres_available, scratch_postgres
from tests.test_desk import post_json
from tests.test_notifications import RecordingSms

MONDAY = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)
TUESDAY = date(2026, 9, 29)
EVENING = datetime(2026, 9, 28, 18, 0, tzinfo=SHANGHAI)     # the demo bank's reminder_time
CHEN, HUANG = "13800138000", "13900139000"


def book(phone: str, day: date = TUESDAY, at: time = time(10), channel: str = "rest") -> str:
    with transaction() as session:
        customer = customer_by_phone(session, phone)
        slot = next(s for s in tickets.free_slots(session, find_branch(session, "福田支行"), "面签", day, MONDAY)
                    if s.starts_at == at)
        return bookings.book(session, customer.id, slot.id, channel, MONDAY).reference


def reminders_sent() -> list:
    with transaction() as session:
        return session.execute(select(Notification).where(Notification.kind == "booking_reminder")
                               .order_by(Notification.id)).scalars().all()


def at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setenv("HELPLINE_NOW", moment.isoformat())


def run_on_two_servers() -> list:
    """The reminder pass on two "servers" at the same moment (two threads, two connections)."""
    claimed, start = [], threading.Barrier(2)

    def server() -> None:
        start.wait()
        claimed.append(remind_once())

    threads = [threading.Thread(target=server) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return claimed


@pytest.fixture
def booked(bank_db):
    """陈志明 chatting on REST (verified), 黄丽萍 booked at the counter side (no chat id): both for Tuesday."""
    with transaction() as session:
        link(session, CHEN, "rest", "r-chen", MONDAY)
    return book(CHEN), book(HUANG, at=time(10, 30), channel="widget")


def test_reminders_wait_for_the_profile_time(booked, monkeypatch):
    at(monkeypatch, EVENING - timedelta(minutes=1))
    assert remind_once() == 0 and reminders_sent() == []


def test_two_servers_running_the_job_remind_each_customer_once(booked, monkeypatch):
    at(monkeypatch, EVENING)
    assert sorted(run_on_two_servers()) == [0, 2]
    assert remind_once() == 0                           # a later pass finds nothing left
    sent = reminders_sent()
    assert len(sent) == 2 and {n.fields["booking"] for n in sent} == set(booked)


def test_the_reminder_says_where_when_and_what_to_bring_on_the_customers_channel(booked, monkeypatch):
    at(monkeypatch, EVENING)
    remind_once()
    chen = reminders_sent()[0]
    assert "明天9月29日" in chen.text and "10:00-10:30" in chen.text and "福田支行" in chen.text
    assert "本人有效身份证件和贷款申请时的资料" in chen.text and booked[0] in chen.text
    with transaction() as session:
        row = session.execute(select(Outbox).where(Outbox.notification_id == chen.id)).scalar_one()
        assert (row.channel, row.channel_user) == ("rest", "r-chen")


async def test_without_a_chat_to_reach_the_reminder_goes_by_sms(booked, monkeypatch):
    at(monkeypatch, EVENING)
    remind_once()
    gateway = RecordingSms()
    assert await SmsDelivery(gateway).deliver_pending() == 1
    [(phone, text)] = gateway.sent
    assert phone == HUANG and booked[1] in text and text.startswith("【鹏城银行】温馨提醒")


def test_an_opted_out_customer_gets_no_reminder_but_still_gets_decisions(booked, monkeypatch):
    with transaction() as session:
        notifications.opt_out(session, customer_by_phone(session, HUANG).id, at=MONDAY)
        decision = notifications.notify(session, notifications.NotificationKind.DEFERRAL_DECISION, "rest", "r-x",
                                        [{"text": "审批通过"}], at=MONDAY, customer_id=customer_by_phone(session, HUANG).id)
        assert decision.status == "pending"
    at(monkeypatch, EVENING)
    remind_once()
    statuses = {n.fields["booking"]: n.status for n in reminders_sent()}
    assert statuses == {booked[0]: "pending", booked[1]: "opted_out"}
    with transaction() as session:
        assert session.execute(select(func.count()).select_from(Outbox)
                               .where(Outbox.channel == "widget")).scalar_one() == 0


async def test_the_insights_compare_no_shows_with_and_without_a_reminder(booked, monkeypatch):
    uninformed = book("13700137000", at=time(11))
    at(monkeypatch, EVENING)
    remind_once()
    sent = {n.fields["booking"]: n.id for n in reminders_sent()}
    with transaction() as session:
        session.get(Notification, sent[uninformed]).status = "failed"     # 刘建华's never reached him
        notifications.channel_delivered(session, sent[booked[0]], at=EVENING)   # as REST's delivery loop does
    await SmsDelivery(RecordingSms()).deliver_pending()       # 黄丽萍's reminder arrives by SMS
    at(monkeypatch, datetime(2026, 9, 29, 17, 30, tzinfo=SHANGHAI))
    with transaction() as session:
        counter.check_in(session, booked[0], datetime(2026, 9, 29, 10, 0, tzinfo=SHANGHAI), "futian")
        counter.mark_no_show(session, booked[1], datetime(2026, 9, 29, 17, 0, tzinfo=SHANGHAI), "futian")
        counter.mark_no_show(session, uninformed, datetime(2026, 9, 29, 17, 0, tzinfo=SHANGHAI), "futian")
    ins = compute(Period(TUESDAY, TUESDAY))
    assert ins.no_show_reminded == Rate.of(1, 2) and ins.no_show_unreminded == Rate.of(1, 1)


@pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not running (.ci/run starts it)")
def test_two_servers_remind_once_on_postgresql(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPLINE_DATA_DIR", str(tmp_path))
    with scratch_postgres() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        at(monkeypatch, MONDAY)
        seed(today=MONDAY.date())
        references = {book(CHEN), book(HUANG, at=time(10, 30)), book("13700137000", at=time(11))}
        at(monkeypatch, EVENING)
        assert sorted(run_on_two_servers()) in ([0, 3], [1, 2])     # the rows may be split, never doubled
        assert sorted(n.fields["booking"] for n in reminders_sent()) == sorted(references)


async def test_an_agent_records_a_customers_opt_out_in_the_console(booked, monkeypatch):
    async with shared.running_desk(monkeypatch) as desk:
        client = await desk.login("agent")
        answer = await post_json(client, "/api/notifications/opt-outs", {"phone": "139 0013 9000"})
        assert answer.status == 200 and await answer.json() == "139****9000"
        unknown = await post_json(client, "/api/notifications/opt-outs", {"phone": "13512345678"})
        assert unknown.status == 404
    at(monkeypatch, EVENING)
    remind_once()
    assert {n.fields["booking"]: n.status for n in reminders_sent()} == {booked[0]: "pending", booked[1]: "opted_out"}
