"""Notifications the bank starts reach a customer who has left: channel, WeChat template, SMS.

The outbox delivery runs in process (as in tests/test_outbox_delivery.py)
with the real WeChat pusher and API client pointed at the fake WeChat, and
a recording SMS sender. The clock is the bank's (`HELPLINE_NOW`), moved on
by the tests; the fake WeChat reads the same clock for its 48-hour window.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import List, Tuple

import pytest
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from sqlalchemy import select

from bot.bank.customers.identity import customer_by_phone, link
from bot.bank.db import transaction
from bot.bank.debit_day import applications, review
from bot.bank.debit_day.notify import notify_decision
from bot.bank.handoff import escalations
from bot.bank.handoff.models import Escalation
from bot.bank.messaging import notifications
from bot.bank.messaging.models import Notification, NotificationAttempt, NotificationStatus, Outbox, Route
from bot.bank.messaging.sms import LogNoticeSender
from bot.bank.staff.accounts import create_staff
from bot.channels.dedup import make_store
from bot.channels.delivery import OutboxDelivery, SmsDelivery
from bot.channels.wechat import WeChatPusher
from bot.channels.wechat_api import WeChatApi
from bot.clock import SHANGHAI
from bot.insights.figures import Period, Rate
from bot.insights.report import compute
from tests import test_desk as shared
from tests.fake_wechat import FakeWeChatApi

APP_ID, APP_SECRET = "wx-notify", "notify-secret"
CHAT = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)       # the customer applies in the chat
HUANG, CONSUMER_LOAN = "13900139000", "4521"                 # 黄丽萍's consumer loan, single borrower
OPENID = "o-huang"


class RecordingSms:
    """An SMS gateway that records what it was given, failing the first `failures` sends."""

    def __init__(self, failures: int = 0) -> None:
        self.failures, self.sent = failures, []

    def send(self, phone: str, text: str) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("gateway down")
        self.sent.append((phone, text))


@pytest.fixture(scope="module")
def fake_wechat():
    api = FakeWeChatApi(APP_ID, APP_SECRET).start()
    yield api
    api.stop()


@pytest.fixture
def clock(bank_db, monkeypatch):
    """Sets the bank's time."""
    def set_to(moment: datetime) -> datetime:
        monkeypatch.setenv("HELPLINE_NOW", moment.isoformat())
        return moment
    set_to(CHAT)
    return set_to


@pytest.fixture
def agent(bank_db):
    return SimpleNamespace(tracker_store=InMemoryTrackerStore(Domain.empty()), lock_store=InMemoryLockStore())


@pytest.fixture
async def wechat(fake_wechat, agent):
    """The WeChat channel's outbox delivery, as one Rasa server runs it."""
    api = WeChatApi(APP_ID, APP_SECRET, fake_wechat.base_url)
    yield OutboxDelivery("wechat", WeChatPusher(api, make_store()), agent)
    await api.close()


def wechat_customer_applies(fake_wechat, openid: str = OPENID) -> str:
    """黄丽萍 proves her phone on WeChat and applies in the chat at CHAT; returns the request's reference."""
    with transaction() as session:
        link(session, HUANG, "wechat", openid, CHAT)
        submission = applications.submit_request(session, customer_by_phone(session, HUANG), CONSUMER_LOAN, 28,
                                                 "收入减少", False, "wechat", openid, CHAT)
    fake_wechat.customer_wrote(openid, CHAT)
    return submission.request.reference


def approve(reference: str, at: datetime) -> int:
    """Staff approve in the console: the decision and its notification in one transaction."""
    with transaction() as session:
        decision = review.approve(session, reference, "审核员", at)
        notify_decision(session, decision, at=at)
    return latest_notification().id


def latest_notification() -> Notification:
    with transaction() as session:
        return session.execute(select(Notification).order_by(Notification.id.desc())).scalars().first()


def attempts(notification_id: int) -> List[Tuple[str, bool]]:
    with transaction() as session:
        rows = session.execute(select(NotificationAttempt).where(NotificationAttempt.notification_id ==
                                                                 notification_id).order_by(NotificationAttempt.id))
        return [(str(row.route), row.ok) for row in rows.scalars()]


# --- WeChat -------------------------------------------------------------------------------------

async def test_a_decision_within_48_hours_goes_as_a_customer_service_message(clock, fake_wechat, wechat):
    reference = wechat_customer_applies(fake_wechat)
    notification_id = approve(reference, clock(CHAT + timedelta(hours=47)))
    assert await wechat.deliver_pending() == 1
    assert "已经通过" in fake_wechat.texts_to(OPENID)[-1]
    assert (latest_notification().status, attempts(notification_id)) == ("delivered", [("channel", True)])


async def test_a_decision_50_hours_after_the_chat_reaches_the_customer_as_a_template(
        clock, fake_wechat, wechat, monkeypatch):
    monkeypatch.setenv("WECHAT_TEMPLATE_IDS", "deferral_decision=TPL-DECISION,agent_reply=TPL-REPLY")
    reference = wechat_customer_applies(fake_wechat, "o-huang-50h")
    notification_id = approve(reference, clock(CHAT + timedelta(hours=50)))
    await wechat.deliver_pending()                       # customer service message: refused, 45015
    assert fake_wechat.texts_to("o-huang-50h") == []
    assert await wechat.deliver_pending() == 1           # the template message
    [sent] = [t for t in fake_wechat.templates if t.touser == "o-huang-50h"]
    assert sent.template_id == "TPL-DECISION"
    assert sent.data["first"]["value"] == "您调整每月扣款日的申请有结果了"
    assert reference in sent.data["keyword1"]["value"] and "已经通过" in sent.data["keyword1"]["value"]
    notification = latest_notification()
    assert (notification.status, notification.route) == ("delivered", "wechat_template")
    assert attempts(notification_id) == [("channel", False), ("wechat_template", True)]
    assert "45015" in notification.last_error


async def test_without_a_template_the_late_decision_goes_by_sms_to_the_verified_phone(clock, fake_wechat, wechat):
    reference = wechat_customer_applies(fake_wechat, "o-huang-sms")
    notification_id = approve(reference, clock(CHAT + timedelta(hours=50)))
    await wechat.deliver_pending()
    assert latest_notification().route == "sms" and await wechat.deliver_pending() == 0
    gateway = RecordingSms()
    assert await SmsDelivery(gateway).deliver_pending() == 1
    [(phone, text)] = gateway.sent
    assert phone == HUANG and text.startswith("【鹏城银行】") and reference in text and "已经通过" in text
    assert attempts(notification_id) == [("channel", False), ("sms", True)]
    assert latest_notification().status == "delivered"


# --- SMS retries -----------------------------------------------------------------------------------

def queue_sms_notification(customer_phone: str = HUANG) -> int:
    """A callback that did not get through, for a REST customer whose channel has given up."""
    with transaction() as session:
        customer = customer_by_phone(session, customer_phone)
        notification = notifications.notify(session, notifications.NotificationKind.CALLBACK_FAILED, "rest", "r-1",
                                            [{"text": "我们给您回电了"}], at=CHAT, customer_id=customer.id)
        notifications.channel_failed(session, notification.id, "Unreachable()", parked=True, at=CHAT)
        return notification.id


async def test_a_failing_sms_gateway_is_retried_with_a_doubling_wait_then_given_up(clock, monkeypatch):
    monkeypatch.setenv("HELPLINE_NOTICE_RETRY_SECONDS", "60")
    notification_id = queue_sms_notification()
    gateway = RecordingSms(failures=99)
    sender = SmsDelivery(gateway)
    waits = []
    moment = CHAT
    for _ in range(notifications.SMS_ATTEMPTS):
        assert await sender.deliver_pending() == 0
        row = latest_notification()
        if row.status == NotificationStatus.FAILED:
            break
        assert await sender.deliver_pending() == 0          # not due yet: no second try at once
        due = row.next_attempt_at.replace(tzinfo=SHANGHAI)   # SQLite hands back the bank's local time
        waits.append((due - moment).total_seconds())
        moment = clock(due)
    assert waits == [60, 120, 240, 480]
    final = latest_notification()
    assert final.status == "failed" and "gateway down" in final.last_error
    assert attempts(notification_id)[1:] == [("sms", False)] * notifications.SMS_ATTEMPTS


async def test_a_customer_without_a_verified_phone_fails_visibly(clock):
    with transaction() as session:
        notification = notifications.notify(session, notifications.NotificationKind.AGENT_REPLY, "widget", "w-anon",
                                            [{"text": "您好"}], at=CHAT)
        notifications.channel_failed(session, notification.id, "Unreachable()", parked=True, at=CHAT)
    assert await SmsDelivery(RecordingSms()).deliver_pending() == 0
    failed = latest_notification()
    assert failed.status == "failed" and "手机号" in failed.last_error


async def test_the_development_sender_writes_a_log_file(clock, bank_db):
    queue_sms_notification()
    assert await SmsDelivery(LogNoticeSender()).deliver_pending() == 1
    line = (bank_db / "dev_notices.log").read_text(encoding="utf-8").strip()
    assert line.startswith(f"{HUANG}\t【鹏城银行】我们给您回电了")


# --- the kinds ------------------------------------------------------------------------------------

@pytest.fixture
def open_case(clock):
    """A WeChat customer (verified) waiting for an agent, and the agent who takes it."""
    with transaction() as session:
        link(session, HUANG, "wechat", OPENID, CHAT)
        staff = create_staff(session, username="li.min", display_name="李敏", role="agent", password="counter2020",
                             when=CHAT)
        escalations.open_escalation(session, OPENID, "wechat", "human", [], at=CHAT)
        return newest_case(session), staff.id


def newest_case(session) -> int:
    return session.execute(select(Escalation.id).order_by(Escalation.id.desc())).scalars().first()


def test_an_agents_reply_is_a_notification_that_reads_alone_in_an_sms(open_case):
    case_id, staff_id = open_case
    with transaction() as session:
        escalations.claim(session, case_id, staff_id, at=CHAT)
        escalations.reply(session, case_id, staff_id, "您的还款已经到账了", at=CHAT)
    notification = latest_notification()
    assert notification.kind == "agent_reply" and notification.text == "李客服回复了您的咨询：您的还款已经到账了"
    with transaction() as session:
        row = session.execute(select(Outbox).where(Outbox.notification_id == notification.id)).scalar_one()
        assert row.kind == "agent_message" and row.payload["messages"][0]["text"] == "您的还款已经到账了"


def test_a_callback_that_did_not_get_through_is_told_to_the_customer(open_case):
    case_id, staff_id = open_case
    with transaction() as session:
        huang = customer_by_phone(session, HUANG).id
        escalations.request_callback(session, "o-other", "wechat", "human", HUANG, "今天下午", [], huang, at=CHAT)
    with transaction() as session:
        escalations.finish_callback(session, newest_case(session), staff_id, reached=False, at=CHAT)
    notification = latest_notification()
    assert notification.kind == "callback_failed" and "139****9000" in notification.text
    assert notification.route == Route.CHANNEL and notification.channel_user == "o-other"
    with transaction() as session:
        assert notification.customer_id == customer_by_phone(session, HUANG).id     # for the SMS fallback


# --- staff see them; the insights count them ------------------------------------------------------

async def late_decision_by_sms(clock, fake_wechat, wechat, openid: str) -> str:
    reference = wechat_customer_applies(fake_wechat, openid)
    approve(reference, clock(CHAT + timedelta(hours=50)))
    await wechat.deliver_pending()
    await SmsDelivery(RecordingSms()).deliver_pending()
    return reference


async def test_the_insights_count_notifications_by_how_they_arrived(clock, fake_wechat, wechat):
    await late_decision_by_sms(clock, fake_wechat, wechat, "o-huang-insights")
    queue_sms_notification()
    await SmsDelivery(RecordingSms(failures=99)).deliver_pending()     # a missed callback, still being retried
    ins = compute(Period(CHAT.date(), CHAT.date() + timedelta(days=2)))
    figures = {n.kind: n for n in ins.notifications}
    decision, callback = figures["deferral_decision"], figures["callback_failed"]
    assert (decision.total, decision.delivered, decision.by_sms, decision.by_template) == (1, 1, 1, 0)
    assert (callback.total, callback.delivered, callback.pending) == (1, 0, 1)
    assert decision.delivery == Rate.of(1, 1) and figures["agent_reply"].total == 0
    assert compute(Period(CHAT.date(), CHAT.date() + timedelta(days=2)), channel="widget").notifications[0].total == 0


async def test_agents_see_each_notification_with_its_route_and_phones_masked(clock, fake_wechat, wechat, monkeypatch):
    reference = await late_decision_by_sms(clock, fake_wechat, wechat, "o-huang-desk")
    async with shared.running_desk(monkeypatch) as desk:
        agent_client = await desk.login("agent")
        page = await (await agent_client.get("/notifications?status=delivered")).text()
        assert "扣款日变更结果" in page and "短信" in page and "139****9000" in page and HUANG not in page
        assert reference in page
        listed = await (await agent_client.get("/api/notifications?status=failed")).json()
        assert listed == {"notifications": []}
        branch_client = await desk.login("futian")
        assert (await branch_client.get("/notifications")).status == 403
