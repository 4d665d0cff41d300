"""What happens live on a hand-off (bot.bank.handoff.live): typing both ways, a customer's new
message, urgent cases alerted to the supervisor, and what an agent's console is told; then the
channels' side of it: the guard marking a paused customer's message, and the delivery loop
showing an agent's typing on the widget and on WeChat (only within WeChat's 30 seconds)."""
from __future__ import annotations

from datetime import timedelta
from typing import List

import pytest
from sqlalchemy import delete, update

from bot.bank.db import transaction
from bot.bank.handoff import escalations as handoff
from bot.bank.handoff import live
from bot.bank.models import Escalation, Outbox
from bot.channels import delivery, guard
from bot.channels.wechat import WeChatPusher
from tests.bankdb import serve
from tests.test_handoff_service import NOW, STOLEN, add_agent, escalation

SECOND = timedelta(seconds=1)


def opened(conversation: str, reason: str = "human", minutes_ago: int = 0, channel: str = "widget") -> Escalation:
    ticket = serve(handoff.open_escalation, conversation, channel, reason, STOLEN,
                   at=NOW - timedelta(minutes=minutes_ago))
    return escalation(ticket.reference)


def claimed(conversation: str, agent: int, channel: str = "widget") -> Escalation:
    case = opened(conversation, channel=channel)
    serve(handoff.claim, case.id, agent, at=NOW)
    return case


@pytest.fixture
def agent(bank_db) -> int:
    return add_agent("李敏", "limin")


def test_a_customers_message_is_marked_only_on_an_open_case(agent):
    case = claimed("c1", agent)
    serve(live.customer_typing, "c1", at=NOW)
    assert serve(live.customer_wrote, "c1", at=NOW + SECOND)
    row = escalation(case.reference)
    assert row.customer_wrote_at is not None and row.customer_typing_at is None   # the message ends the typing
    assert not serve(live.customer_wrote, "nobody", at=NOW)


def test_the_agent_sees_the_customer_typing_for_a_few_seconds_once_someone_has_the_case(agent):
    waiting = opened("c1")
    assert not serve(live.customer_typing, "c1", at=NOW)   # nobody has the case yet: nobody to show it to
    serve(handoff.claim, waiting.id, agent, at=NOW)
    assert serve(live.customer_typing, "c1", at=NOW)
    assert serve(handoff.detail, waiting.id, at=NOW + 5 * SECOND).customer_typing
    assert not serve(handoff.detail, waiting.id, at=NOW + 7 * SECOND).customer_typing
    assert serve(handoff.detail, waiting.id, at=NOW - 3 * SECOND).customer_typing   # the console's clock a little behind


def test_the_customer_is_shown_the_agent_typing_once_per_interval_by_one_server(agent):
    case = claimed("c1", agent)
    colleague = add_agent("周杰", "zhou")
    every = 3 * SECOND
    assert not serve(live.agent_typing, case.id, colleague, at=NOW)   # not their case: a stale page
    assert serve(live.claim_typing, "widget", at=NOW, every=every) == []

    serve(live.agent_typing, case.id, agent, at=NOW)
    [shown] = serve(live.claim_typing, "widget", at=NOW, every=every)
    assert shown.conversation_id == "c1"
    assert serve(live.claim_typing, "widget", at=NOW, every=every) == []          # claimed: another server gets nothing
    assert serve(live.claim_typing, "wechat", at=NOW + 4 * SECOND, every=every) == []
    assert serve(live.claim_typing, "widget", at=NOW + 4 * SECOND, every=every) == []  # no typing since it was shown
    serve(live.agent_typing, case.id, agent, at=NOW + 2 * SECOND)
    assert serve(live.claim_typing, "widget", at=NOW + 2 * SECOND, every=every) == []  # too soon
    assert len(serve(live.claim_typing, "widget", at=NOW + 3 * SECOND, every=every)) == 1

    serve(live.agent_typing, case.id, agent, at=NOW + 4 * SECOND)
    serve(handoff.reply, case.id, agent, "您好，我来帮您查一下", at=NOW + 5 * SECOND)
    assert serve(live.claim_typing, "widget", at=NOW + 7 * SECOND, every=every) == []   # the reply ended it


def test_an_urgent_case_past_its_target_alerts_the_supervisor_once_with_a_note(agent):
    stolen = opened("c1", "lost_card", minutes_ago=3)
    fresh = opened("c2", "fraud", minutes_ago=1)
    slow = opened("c3", "human", minutes_ago=30)                 # not urgent: its own target, no alert
    answered = claimed("c4", agent)
    serve(handoff.reply, answered.id, agent, "您好", at=NOW)
    with transaction() as session:
        session.execute(update(Escalation).where(Escalation.id == answered.id)
                        .values(created_at=NOW - timedelta(minutes=5), priority="urgent"))

    assert serve(live.alert_supervisors, at=NOW) == [stolen.reference]
    assert serve(live.alert_supervisors, at=NOW) == []
    notes = serve(handoff.detail, stolen.id, at=NOW).notes
    assert [(note["author"], note["text"]) for note in notes] == [("系统", "紧急接待超过 2 分钟仍未回复客户，已提醒值班主管。")]
    assert serve(handoff.detail, fresh.id, at=NOW).notes == [] and serve(handoff.detail, slow.id, at=NOW).notes == []
    assert serve(live.alert_supervisors, at=NOW + timedelta(minutes=1)) == [fresh.reference]


def test_the_console_is_told_of_new_cases_its_customers_messages_transfers_and_for_supervisors_late_cases(agent):
    mine = claimed("c1", agent)
    colleague = add_agent("周杰", "zhou")
    theirs = claimed("c3", colleague)
    boss = add_agent("赵总", "boss", role="admin")
    before = serve(live.desk_state)
    new = opened("c2", "fraud", minutes_ago=5)
    serve(live.customer_wrote, "c1", at=NOW)
    serve(live.alert_supervisors, at=NOW)
    serve(handoff.transfer, theirs.id, colleague, agent, at=NOW)
    after = serve(live.desk_state)

    def told(who: int, supervise: bool = False) -> list:
        return [(alert.kind, alert.case.reference) for alert in live.news(before, after, who, supervise=supervise)]

    assert told(agent) == [(live.NEW_CASE, new.reference), (live.ASSIGNED, theirs.reference),
                           (live.CUSTOMER_WROTE, mine.reference)]
    assert told(boss, supervise=True) == [(live.NEW_CASE, new.reference), (live.OVERDUE, new.reference)]
    assert told(colleague) == [(live.NEW_CASE, new.reference)]   # the case they gave away is no news to them
    assert live.news(after, after, agent, supervise=True) == []
    [alert] = [alert for alert in live.news(before, after, agent, supervise=False) if alert.kind == live.NEW_CASE]
    assert alert.case.reason_label == "疑似诈骗" and alert.case.priority == "urgent"

    # A console that connects now is told what still needs someone.
    assert [(a.kind, a.case.reference) for a in live.still_to_act_on(after, supervise=True)] == [
        (live.NEW_CASE, new.reference), (live.OVERDUE, new.reference)]
    serve(handoff.claim, new.id, agent, at=NOW)
    serve(handoff.reply, new.id, agent, "您好", at=NOW)
    assert live.still_to_act_on(serve(live.desk_state), supervise=True) == []


# --- the channels' side --------------------------------------------------------------------

class PausedAgent:
    """Just enough of Rasa's agent for the guard: a tracker store whose tracker is paused."""

    class Store:
        async def retrieve(self, _sender_id):
            return type("Tracker", (), {"is_paused": lambda self: True})()

    tracker_store = Store()


class Output:
    def name(self) -> str:
        return "widget"

    async def send_response(self, recipient_id, message) -> None:
        raise AssertionError(f"the guard spoke for the agent: {message}")


async def test_the_guard_marks_a_message_to_an_agent_on_the_case_and_says_nothing(agent):
    from rasa.core.channels.channel import UserMessage

    case = claimed("c1", agent)

    async def rasa_pauses(_message) -> None:
        return None   # a paused conversation: Rasa records the message and answers nothing

    message = UserMessage("我的卡还能用吗", Output(), "c1", input_channel="widget")
    verdict = await guard.guard(rasa_pauses, message, agent=PausedAgent(), address="10.0.0.1")
    assert verdict == guard.Verdict.QUIET
    assert escalation(case.reference).customer_wrote_at is not None


class WidgetTyping:
    typing_every = timedelta(seconds=3)

    def __init__(self) -> None:
        self.shown: List[str] = []

    async def push(self, item) -> None:
        raise AssertionError("nothing was queued")

    async def show_typing(self, shown: live.TypingShown) -> None:
        self.shown.append(shown.conversation_id)


async def test_the_delivery_loop_shows_the_agent_typing_on_the_customers_channel(agent):
    case = claimed("c1", agent)
    with transaction() as session:   # the greeting queued at claim time is another test's business
        session.execute(delete(Outbox))
    serve(live.agent_typing, case.id, agent)
    pusher = WidgetTyping()
    loop = delivery.OutboxDelivery("widget", pusher, agent=None)
    await loop.deliver_pending()
    await loop.deliver_pending()   # the same clock: not shown twice
    assert pusher.shown == ["c1"]


class FakeApi:
    def __init__(self) -> None:
        self.typing_to: List[str] = []

    async def typing(self, openid: str) -> None:
        self.typing_to.append(openid)


async def test_wechat_shows_typing_only_within_30_seconds_of_the_customers_message(bank_db):
    api = FakeApi()
    pusher = WeChatPusher(api, store=None)
    await pusher.show_typing(live.TypingShown("o-recent", NOW - timedelta(seconds=20)))
    await pusher.show_typing(live.TypingShown("o-old", NOW - timedelta(seconds=40)))
    await pusher.show_typing(live.TypingShown("o-never", None))
    assert api.typing_to == ["o-recent"]
    assert pusher.typing_every == timedelta(seconds=15)
