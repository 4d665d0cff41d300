"""Service insights (bot.bank.insights) on a known week, and the console's
dashboard, JSON and CSV exports (bot.desk.pages.insights).

The scenario: Monday 21 to Thursday 24 September 2026, four working days
before the pinned clock (Monday 28th, 09:30). Conversations are written
into a scratch tracker database with Rasa's own SQLTrackerStore; hand-offs,
surveys, deferral requests and bookings go through the bank's services with
the clock set to the moment each happened. Every expected figure below is
counted by hand from the scenario, not recomputed.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Optional

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.bank.booking import lifecycle as bookings
from bot.bank.capacity import slots as tickets
from bot.bank.csat import surveys as csat
from bot.bank.debit_day import applications as deferral
from bot.bank.debit_day import review
from bot.bank.handoff import escalations as handoff
from bot.bank.booking.counter import check_in, mark_no_show
from bot.bank.db import transaction
from bot.bank.hours.timetable import find_branch
from bot.bank.customers.identity import customer_by_phone
from bot.insights.report import compute
from bot.insights.figures import Durations, Period, Rate
from bot.bank.models import Escalation, Slot, Staff
from bot.clock import SHANGHAI
from bot.bank.staff.accounts import create_staff
from bot.desk.app import create_app
from tests.bankdb import serve
from tests.conftest import PINNED_NOW
from tests.test_desk import ACCOUNTS, NOW, PASSWORD, Desk, post_form

WEEK = Period(date(2026, 9, 21), date(2026, 9, 24))
PHONE = "13800138000"                     # said in a fallback message; must only ever appear masked
MASKED = "*******8000"
CHEN, HUANG, LIU = "13800138000", "13900139000", "13700137000"   # seeded borrowers (tests/test_desk_deferrals.py)
WEEK_QUERY = "from=2026-09-21&to=2026-09-24"


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 9) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=SHANGHAI)


# --- conversations, written with Rasa's tracker store -----------------------------------------

def said(text: str, intent: str, when: datetime, confidence: float = 0.95, channel: str = "rest",
         key: Optional[str] = None, ranking: tuple = ()) -> list:
    """The customer's message and the bot's answer, as Rasa stores them; `key` ("kb/transfer")
    is the knowledge-base topic that answered it (action_answer_question sets the slot)."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

    parse = {"intent": {"name": intent, "confidence": confidence},
             "intent_ranking": [{"name": intent, "confidence": confidence}]
             + [{"name": name, "confidence": 0.1} for name in ranking]}
    stamp = when.timestamp()
    answered = [SlotSet("knowledge_topic", key.split("/", 1)[1], timestamp=stamp + 0.5)] if key else []
    return [UserUttered(text, intent=parse["intent"], parse_data=parse, input_channel=channel, timestamp=stamp),
            *answered, BotUttered("好的", timestamp=stamp + 1), ActionExecuted("action_listen", timestamp=stamp + 1)]


def session(when: datetime) -> list:
    from rasa.shared.core.events import ActionExecuted, SessionStarted

    stamp = when.timestamp()
    return [ActionExecuted("action_session_start", timestamp=stamp), SessionStarted(timestamp=stamp),
            ActionExecuted("action_listen", timestamp=stamp)]


def week_conversations() -> dict:
    """Sender id -> events. 11 conversations begin in WEEK (hank's has no message, kate's began before)."""
    return {
        "kate": session(at(20, 23, 30)) + said("你好", "greet", at(20, 23, 31))
        + said("嗯", "nlu_fallback", at(21, 0, 10), confidence=0.4),
        "alice": session(at(21, 10)) + said("你好", "greet", at(21, 10, 0, 10))
        + said("怎么转账", "ask_question", at(21, 10, 0, 40), 0.9, key="kb/transfer")
        + session(at(22, 9)) + said("怎么转账", "ask_question", at(22, 9, 0, 10), 0.9, key="kb/transfer")
        + said("怎么转账", "ask_question", at(22, 9, 1), 0.9, key="kb/transfer")
        + said("转账限额是多少", "ask_question", at(22, 9, 2), 0.9, key="kb/transfer_limit"),
        "bob": session(at(21, 11)) + said("我要转人工", "request_human", at(21, 11, 0, 30), 0.98, "widget"),
        "carol": session(at(21, 14)) + said(f"我的手机号{PHONE}收不到验证码", "nlu_fallback", at(21, 14, 1), 0.4,
                                            "wechat", ranking=("ask_question",))
        + said("短信验证码一直收不到", "nlu_fallback", at(21, 14, 2), 0.3, "wechat"),
        "dave": session(at(22, 10)) + said("我的卡丢了", "report_lost_card", at(22, 10, 0, 30), 0.99, "wechat"),
        "erin": session(at(22, 20)) + said("信用卡分期怎么弄", "out_of_scope", at(22, 20, 0, 30), 0.7, "widget"),
        "frank": session(at(23, 22, 30)) + said("投诉你们服务", "complain", at(23, 22, 30, 30), 0.96),
        "gina": session(at(23, 15)) + said("谢谢", "thank", at(23, 15, 0, 30), 0.99, "wechat"),
        "mike": session(at(23, 9)) + said("我压力好大", "express_distress", at(23, 9, 0, 30), 0.97, "wechat"),
        "hank": session(at(24, 10)),
        "judy": session(at(24, 21)) + said("你好", "greet", at(24, 21, 1)),
        "ivan": session(at(24, 23, 50)) + said("在吗", "greet", at(24, 23, 55))
        + session(at(25, 9)) + said("转人工", "request_human", at(25, 9, 1)),
    }


async def write_conversations(url: str, conversations: dict) -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.trackers import DialogueStateTracker

    store = SQLTrackerStore(host=url)
    for sender, events in conversations.items():
        await store.save(DialogueStateTracker.from_events(sender, events))
    store.engine.dispose()


# --- the bank's side ----------------------------------------------------------------------------

class Clock:
    """Sets the bank's clock (HELPLINE_NOW) to each moment a service call happened."""

    def __init__(self, monkeypatch) -> None:
        self.monkeypatch = monkeypatch

    def __call__(self, moment: datetime) -> None:
        self.monkeypatch.setenv("HELPLINE_NOW", moment.isoformat())

    def reset(self) -> None:
        self.monkeypatch.setenv("HELPLINE_NOW", PINNED_NOW)


def escalation_id(reference: str) -> int:
    with transaction() as db:
        return db.execute(select(Escalation.id).where(Escalation.reference == reference)).scalar_one()


def agent_id() -> int:
    with transaction() as db:
        existing = db.execute(select(Staff.id).where(Staff.username == "ops")).scalar_one_or_none()
        return existing or create_staff(db, username="ops", display_name="周洁", role="agent", password=PASSWORD,
                                        when=NOW).id


def live_case(clock: Clock, sender: str, channel: str, reason: str, opened: datetime, claimed: datetime,
              replied: datetime, closed: datetime) -> None:
    clock(opened)
    case = escalation_id(serve(handoff.open_escalation, sender, channel, reason, []).reference)
    staff = agent_id()
    clock(claimed)
    serve(handoff.claim, case, staff)
    clock(replied)
    serve(handoff.reply, case, staff, "您好，我来帮您处理。")
    clock(closed)
    serve(handoff.close, case, staff)           # asks the satisfaction question too


def week_handoffs(clock: Clock) -> None:
    live_case(clock, "bob", "widget", "human", at(21, 11, 1), at(21, 11, 3), at(21, 11, 5), at(21, 11, 20))
    live_case(clock, "carol", "wechat", "fallback", at(21, 14, 5), at(21, 14, 10), at(21, 14, 20), at(21, 14, 40))
    live_case(clock, "dave", "wechat", "lost_card", at(22, 10, 1), at(22, 10, 1, 30), at(22, 10, 2), at(22, 10, 30))
    clock(at(22, 20, 5))
    erin = escalation_id(serve(handoff.request_callback, "erin", "widget", "human", HUANG, "今晚", []).reference)
    clock(at(23, 10))
    serve(handoff.finish_callback, erin, agent_id(), reached=True)
    clock(at(23, 22, 31))
    serve(handoff.request_callback, "frank", "rest", "complaint", LIU, "明天上午", [])
    clock(at(23, 9, 1))
    serve(handoff.open_escalation, "mike", "wechat", "distress", [])
    clock(at(23, 9, 25))
    assert serve(handoff.release_unclaimed, "wechat") == 1     # nobody took mike's case
    clock(at(25, 0, 10))
    serve(handoff.open_escalation, "judy", "rest", "human", [])  # after the week, in judy's conversation of the 24th
    clock(at(25, 9, 5))
    serve(handoff.open_escalation, "ivan", "rest", "human", [])  # in ivan's next conversation, not the one of the 24th


def week_surveys(clock: Clock) -> None:
    clock(at(21, 11, 25))
    assert serve(csat.record_score, "bob", 3)
    clock(at(22, 10, 35))
    assert serve(csat.record_score, "dave", 4)
    clock(at(23, 15, 5))
    assert serve(csat.ask, "gina", "wechat")
    assert serve(csat.record_score, "gina", 5)
    clock(at(25, 9, 30))                                  # after the week
    assert serve(csat.ask, "ivan", "rest") and serve(csat.record_score, "ivan", 1)


def submit(phone: str, loan: str, day: int, channel: str, when: datetime) -> str:
    with transaction() as db:
        made = deferral.submit_request(db, customer_by_phone(db, phone), loan, day, "收入减少", False,
                                       channel, f"{channel}-{phone}", when)
    assert made.ok and made.created, made
    return made.request.reference


def week_deferrals() -> None:
    consumer = submit(HUANG, "PC2022XF004521", 28, "wechat", at(21, 10))
    home = submit(CHEN, "PC2020HL000123", 15, "rest", at(22, 9))
    submit(LIU, "PC2019JY000876", 15, "wechat", at(23, 12))          # waits for its co-borrowers
    with transaction() as db:
        review.approve(db, consumer, "boss", at(22, 10))
    with transaction() as db:
        review.reject(db, home, "boss", "材料不全", at(22, 15))


def book(phone: str, branch: str, service: str, day: date, starts: time, channel: str) -> str:
    with transaction() as db:
        slot = next(s for s in tickets.ensure_slots(db, find_branch(db, branch), service, day) if s.starts_at == starts)
        return bookings.book(db, customer_by_phone(db, phone).id, slot.id, channel, at(20, 9)).reference


def week_bookings() -> None:
    arrived = book(CHEN, "futian", "面签", date(2026, 9, 21), time(10), "rest")
    missed = book(HUANG, "futian", "开户", date(2026, 9, 21), time(10), "wechat")
    dropped = book(LIU, "futian", "面签", date(2026, 9, 22), time(9), "rest")
    book("13500135000", "futian", "提前还款", date(2026, 9, 23), time(14), "wechat")   # never marked
    visited = book("13600136000", "nanshan", "面签", date(2026, 9, 24), time(9), "rest")
    book("13600136000", "futian", "开户", date(2026, 9, 28), time(14), "rest")        # after the week
    with transaction() as db:
        check_in(db, arrived, at(21, 10, 5))
        mark_no_show(db, missed, at(21, 11))
        bookings.cancel(db, customer_by_phone(db, LIU).id, dropped, at(20, 10))
        check_in(db, visited, at(24, 9, 5))
        # Staff lowered one slot to 2 tickets: capacity counts the slot as it is.
        slot = db.execute(select(Slot).where(Slot.branch_id == "futian", Slot.service == "面签",
                                             Slot.day == date(2026, 9, 21), Slot.starts_at == time(10))).scalar_one()
        slot.capacity = 2


async def build_week(monkeypatch, tmp_path) -> str:
    """The whole scenario in a seeded bank (`bank_db`); returns the tracker URL."""
    url = f"sqlite:///{tmp_path / 'tracker-scratch.db'}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    monkeypatch.setenv("DESK_BCRYPT_ROUNDS", "4")
    await write_conversations(url, week_conversations())
    clock = Clock(monkeypatch)
    week_handoffs(clock)
    week_surveys(clock)
    clock.reset()
    week_deferrals()
    week_bookings()
    return url


@pytest.fixture
async def week(bank_db, monkeypatch, tmp_path):
    return await build_week(monkeypatch, tmp_path)


# --- the figures ---------------------------------------------------------------------------------

def by_branch(ins, branch_id):
    return next(b for b in ins.branches if b.branch_id == branch_id)


async def test_every_figure_of_the_week(week):
    ins = compute(WEEK)
    assert ins.conversations == 11        # hank never wrote; kate's conversation began on the 20th
    assert ins.containment == Rate.of(4, 11)     # alice twice, gina, ivan (his hand-off was a later conversation)
    assert ins.handoff_rate == Rate.of(7, 11)    # judy's hand-off after midnight still belongs to her conversation
    assert ins.handoffs == 6
    counts = {r.reason: r.count for r in ins.by_reason}
    assert counts == {"lost_card": 1, "fraud": 0, "distress": 1, "home_service": 0, "complaint": 1,
                      "hardship": 0, "human": 2, "fallback": 1}
    assert next(r for r in ins.by_reason if r.reason == "human").rate == Rate.of(2, 11)
    assert ins.messages == 16 and ins.fallback == Rate.of(4, 16)


async def test_handoff_times_against_the_sla(week):
    ins = compute(WEEK)
    urgent, high, normal = ins.by_priority
    assert (urgent.priority, urgent.sla_minutes, urgent.count) == ("urgent", 2, 2)
    assert urgent.first_reply == Durations(1, 1.0, 1.0)
    assert urgent.within_sla == Rate.of(1, 2)            # mike's case was never answered
    assert urgent.resolution == Durations(1, 29.0, 29.0)  # nobody resolved mike's: handed back to the bot
    assert (high.count, high.within_sla.value, high.first_reply.median) == (0, None, None)   # frank asked for a callback
    assert normal.first_reply == Durations(2, 9.5, 15.0)
    assert normal.within_sla == Rate.of(1, 2)             # carol waited 15 minutes
    assert normal.resolution == Durations(2, 27.0, 35.0)
    assert ins.first_reply_sla == Rate.of(2, 4)
    assert ins.resolution == Durations(3, 29.0, 35.0)


async def test_callbacks_surveys_deferrals_and_the_targets(week):
    ins = compute(WEEK)
    assert ins.callbacks == Rate.of(1, 2, 0.8) and ins.callbacks.met is False and ins.callbacks_pending == 1
    assert ins.csat_asked == 4 and ins.csat_scores == (0, 0, 1, 1, 1) and ins.csat_average == 4.0
    assert ins.csat == Rate.of(2, 3, 0.85) and ins.csat.value == 0.6667 and ins.csat.met is False
    assert {s.status: s.count for s in ins.deferrals} == {
        "submitted": 0, "awaiting_confirmation": 1, "approved": 1, "rejected": 1, "cancelled": 0}
    assert ins.deferral_decision_hours == Durations(2, 15.0, 24.0)
    assert (ins.knowledge_answers, ins.self_service, ins.counter_visits) == (3, 3, 4)
    assert ins.online == Rate.of(6, 10, 0.7) and ins.online.met is False


async def test_bookings_against_tickets_offered_per_branch(week):
    ins = compute(WEEK)
    assert len(ins.branches) == 9
    futian = by_branch(ins, "futian")
    # 8 services × 14 half-hour windows × 4 tickets × 4 days, less the 2 staff took off one slot
    assert futian.capacity == 8 * 14 * 4 * 4 - 2
    assert (futian.booked, futian.cancelled, futian.no_show, futian.checked_in, futian.held) == (4, 1, 1, 1, 3)
    assert futian.utilisation == Rate.of(3, 1790) and futian.no_show_rate == Rate.of(1, 2)
    nanshan = by_branch(ins, "nanshan")
    assert (nanshan.capacity, nanshan.booked, nanshan.checked_in, nanshan.held) == (1792, 1, 1, 1)
    assert by_branch(ins, "luohu").capacity == 7 * 13 * 4 * 4     # lunch until 13:30, no 面签
    assert by_branch(ins, "luohu").no_show_rate.value is None


async def test_each_day_of_the_week(week):
    days = compute(WEEK).days
    assert [d.day.day for d in days] == [21, 22, 23, 24]
    assert [d.conversations for d in days] == [3, 3, 3, 2]
    assert [d.handoffs for d in days] == [2, 2, 2, 0]
    assert [d.containment for d in days] == [Rate.of(1, 3), Rate.of(1, 3), Rate.of(1, 3), Rate.of(1, 2)]
    assert [d.fallback for d in days] == [Rate.of(3, 6), Rate.of(1, 5), Rate.of(0, 3), Rate.of(0, 2)]
    assert [d.csat for d in days] == [Rate.of(0, 1, 0.85), Rate.of(1, 1, 0.85), Rate.of(1, 1, 0.85),
                                      Rate.of(0, 0, 0.85)]


async def test_one_channel(week):
    ins = compute(WEEK, channel="wechat")
    assert ins.conversations == 4 and ins.containment == Rate.of(1, 4)   # carol, dave, gina, mike
    assert ins.handoffs == 3 and ins.messages == 5 and ins.fallback == Rate.of(2, 5)
    assert ins.callbacks == Rate.of(0, 0, 0.8) and ins.callbacks.met is None
    assert ins.csat == Rate.of(2, 2, 0.85) and ins.csat.met is True
    assert {s.status: s.count for s in ins.deferrals}["approved"] == 1
    assert ins.deferral_decision_hours == Durations(1, 24.0, 24.0)
    assert (ins.knowledge_answers, ins.self_service, ins.counter_visits) == (0, 2, 2)
    futian = by_branch(ins, "futian")
    assert (futian.booked, futian.no_show, futian.held, futian.capacity) == (2, 1, 2, 1790)
    widget = compute(WEEK, channel="widget")
    assert widget.conversations == 2 and widget.callbacks == Rate.of(1, 1, 0.8) and widget.callbacks.met


async def test_the_branch_filter_touches_bookings_only(week):
    everything, nanshan = compute(WEEK), compute(WEEK, branch="nanshan")
    assert [b.branch_id for b in nanshan.branches] == ["nanshan"]
    assert nanshan.online == everything.online          # the online share stays bank-wide
    assert (nanshan.conversations, nanshan.csat, nanshan.handoffs) == (
        everything.conversations, everything.csat, everything.handoffs)


async def test_an_empty_period_divides_by_nothing(week):
    ins = compute(Period(date(2026, 8, 3), date(2026, 8, 4)))
    assert ins.conversations == ins.messages == ins.handoffs == ins.csat_asked == 0
    for rate in (ins.containment, ins.handoff_rate, ins.fallback, ins.csat, ins.callbacks, ins.online,
                 ins.first_reply_sla):
        assert rate.value is None and rate.met is None
    assert ins.resolution == Durations(0, None, None) and ins.csat_average is None
    assert by_branch(ins, "futian").capacity == 8 * 14 * 4 * 2
    assert by_branch(ins, "futian").utilisation == Rate.of(0, 896)
    assert all(d.containment.value is None and d.csat.value is None for d in ins.days)


async def test_no_tracker_store_yet_means_no_conversations(bank_db, monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'never-used.db'}")
    ins = compute(WEEK)
    assert ins.conversations == 0 and ins.containment.value is None


async def test_a_case_inside_its_reply_deadline_is_not_judged_yet(bank_db, monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    clock = Clock(monkeypatch)
    clock(at(28, 9, 15))
    serve(handoff.open_escalation, "slow", "rest", "human", [])       # normal: 10 minutes, passed at 09:25
    clock(at(28, 9, 29))
    serve(handoff.open_escalation, "fresh", "rest", "lost_card", [])  # urgent: 2 minutes, not passed at 09:30
    clock.reset()
    ins = compute(Period(date(2026, 9, 28), date(2026, 9, 28)))
    urgent, _high, normal = ins.by_priority
    assert urgent.count == 1 and urgent.within_sla.denominator == 0
    assert normal.within_sla == Rate.of(0, 1)
    assert ins.first_reply_sla == Rate.of(0, 1)


def test_periods_are_whole_shanghai_days():
    period = Period(date(2026, 9, 21), date(2026, 9, 24))
    assert period.start.isoformat() == "2026-09-21T00:00:00+08:00"
    assert period.end.isoformat() == "2026-09-25T00:00:00+08:00"
    with pytest.raises(ValueError):
        Period(date(2026, 9, 24), date(2026, 9, 21))
    with pytest.raises(ValueError):
        Period(date(2025, 1, 1), date(2026, 1, 2))     # 367 days


# --- the console ------------------------------------------------------------------------------

@pytest.fixture
async def console(week):
    """The console with tests/test_desk.py's accounts."""
    with transaction() as db:
        for username, (role, branch_id, name) in ACCOUNTS.items():
            create_staff(db, username=username, display_name=name, role=role, password=PASSWORD, when=NOW,
                         branch_id=branch_id)
    server = TestServer(create_app())
    await server.start_server()
    desk = Desk(server.app, server)
    yield desk
    for client in desk.clients:
        await client.close()
    await server.close()


INSIGHTS_GETS = ["/insights", "/api/insights", "/insights/learning", "/api/insights/learning",
                 "/insights/summary.csv", "/insights/daily.csv", "/insights/reasons.csv", "/insights/sla.csv",
                 "/insights/branches.csv", "/insights/deferrals.csv", "/insights/fallbacks.csv"]


def svg_count(page: str, chart: str, element: str) -> int:
    svg = re.search(rf'<svg[^>]*data-chart="{chart}".*?</svg>', page, re.S).group(0)
    return len(re.findall(rf'<{element} class="(?:point|bar) ', svg))


async def test_the_admin_sees_the_dashboard_with_charts(console):
    boss = await console.login("boss")
    response = await boss.get(f"/insights?{WEEK_QUERY}")
    page = await response.text()
    assert response.status == 200 and "服务分析" in page and 'href="/insights"' in page
    assert "60.0%" in page and "目标 ≥70% · 未达标" in page            # online share
    assert "66.7%" in page and "目标 ≥85% · 未达标" in page            # satisfaction
    assert "50.0%" in page and "目标 ≥80% · 未达标" in page            # callbacks
    assert "网点筛选只作用于" in page
    assert svg_count(page, "volume", "circle") == 2 * 4              # two lines, four days
    assert svg_count(page, "rates", "circle") == 4 + 4 + 3           # no survey on the 24th: a gap
    assert svg_count(page, "branches", "rect") == 3 * 9              # three bars per branch
    assert svg_count(page, "reasons", "rect") == 8
    assert PHONE not in page and "/static/insights.css" in page


async def test_the_json_has_the_same_figures(console):
    boss = await console.login("boss")
    body = await (await boss.get(f"/api/insights?{WEEK_QUERY}&channel=wechat&branch=futian")).json()
    ins = body["insights"]
    assert ins["period"] == {"first": "2026-09-21", "last": "2026-09-24"}
    assert (ins["branch"], ins["channel"], ins["conversations"]) == ("futian", "wechat", 4)
    assert ins["csat"] == {"numerator": 2, "denominator": 2, "value": 1.0, "target": 0.85, "met": True}
    assert [b["branch_id"] for b in ins["branches"]] == ["futian"]
    assert ins["days"][0] == {"day": "2026-09-21", "conversations": 1, "handoffs": 1,
                              "containment": {"numerator": 0, "denominator": 1, "value": 0.0, "target": None,
                                              "met": None},
                              "fallback": {"numerator": 2, "denominator": 2, "value": 1.0, "target": None,
                                           "met": None},
                              "csat": {"numerator": 0, "denominator": 0, "value": None, "target": 0.85,
                                       "met": None}}


async def test_csv_exports_mask_personal_data(console):
    boss = await console.login("boss")
    for path in [p for p in INSIGHTS_GETS if p.endswith(".csv")]:
        response = await boss.get(f"{path}?{WEEK_QUERY}")
        body = (await response.read()).decode("utf-8")
        assert response.status == 200 and response.content_type == "text/csv", path
        assert body.startswith("\ufeff") and "attachment" in response.headers["Content-Disposition"]
        assert PHONE not in body, path
    branches = (await (await boss.get(f"/insights/branches.csv?{WEEK_QUERY}")).read()).decode("utf-8")
    assert "福田支行,1790,4,1,1,1,3,0.2%,50.0%" in branches
    fallbacks = (await (await boss.get(f"/insights/fallbacks.csv?{WEEK_QUERY}")).read()).decode("utf-8")
    assert f"我的手机号{MASKED}收不到验证码" in fallbacks and len(fallbacks.strip().splitlines()) == 1 + 4


async def test_the_learning_page_and_json_show_messages_masked(console):
    boss = await console.login("boss")
    page = await (await boss.get(f"/insights/learning?{WEEK_QUERY}")).text()
    raw = await (await boss.get(f"/api/insights/learning?{WEEK_QUERY}")).text()
    for shown in (page, raw):
        assert f"我的手机号{MASKED}收不到验证码" in shown and PHONE not in shown
    assert "加入训练数据" in page


async def test_an_empty_period_shows_dashes(console):
    boss = await console.login("boss")
    page = await (await boss.get("/insights?from=2026-08-03&to=2026-08-04")).text()
    shown_values = re.findall(r">([^<>]*)<", page)  # text between tags, not tokens in attributes
    assert page.count("—") >= 10
    assert not [value for value in shown_values if re.search(r"\bnan\b", value, re.IGNORECASE)]


async def test_bad_filters_are_refused(console):
    boss = await console.login("boss")
    for query in ("from=2026-09-24&to=2026-09-21", "channel=fax", "branch=atlantis", "from=yesterday"):
        response = await boss.get(f"/api/insights?{query}")
        assert response.status == 400, query


@pytest.mark.parametrize("username", ["agent", "futian"])
async def test_agents_and_branch_staff_are_refused(console, username):
    clerk = await console.login(username)
    for path in INSIGHTS_GETS:
        assert (await clerk.get(path, allow_redirects=False)).status == 403, path
    refused = await post_form(clerk, "/insights/learning/add", {"label": "greet", "event_id": "1"})
    assert refused.status == 403
    menu = await (await clerk.get("/bookings")).text()
    assert 'href="/insights"' not in menu


async def test_anonymous_visitors_are_refused(console):
    client = await console.client()
    for path in INSIGHTS_GETS:
        response = await client.get(path, allow_redirects=False)
        assert response.status == (401 if path.startswith("/api/") else 302), path
    assert (await client.post("/api/insights/learning/add", json={})).status == 401
