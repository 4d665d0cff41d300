"""The holiday schedule as bank data: entered in the console, ahead of chinesecalendar.

The clock is pinned in late December 2026: chinesecalendar 1.11.0 knows
nothing of 2027, so until staff import it the bot must not call a 2027 day a
normal working day, and bookings stop on 31 December.
"""
from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.booking import ValidateBookingForm
from actions.hours import ActionAnswerOpeningHours
from bot.bank.capacity import slots as tickets
from bot.bank.db import transaction
from bot.bank.hours import holidays, schedule
from bot.bank.hours.models import OfficialDay, ScheduleYear
from bot.bank.hours.timetable import find_branch, hours_on
from bot.bank.refusals import Refusal
from bot.clock import SHANGHAI
from tests import test_desk as shared
from tests.bankdb import serve
from tests.test_desk import post_form, post_json
from tests.trackers import domain, tracker

LATE_DECEMBER = datetime(2026, 12, 28, 10, 0, tzinfo=SHANGHAI)      # a Monday
NEW_YEARS_DAY, FIRST_MONDAY = date(2027, 1, 1), date(2027, 1, 4)
# The test's own input in the console's paste format, shaped like a State Council notice.
# 1 January 2027 (元旦, a Friday) is certain; the Spring Festival run and its make-up
# Sunday are illustrative rows, not a claim about the official 2027 schedule.
TABLE_2027 = """日期\t安排\t节日
2027-01-01\t放假\t元旦
2027-02-06 ~ 2027-02-12, 放假, 春节
2027-02-14\t上班\t春节
# 其余节日略
2027-10-01~10-07\t放假\t国庆节
"""


def fetch(func_, *args, **kwargs):
    with transaction() as session:
        return func_(session, *args, **kwargs)


def futian_on(day: date):
    return fetch(lambda session: hours_on(session, find_branch(session, "福田支行"), day))


@pytest.fixture
def late_december(bank_db, monkeypatch):
    monkeypatch.setenv("HELPLINE_NOW", LATE_DECEMBER.isoformat())
    assert holidays.supported_years()[1] == 2026    # the package stops where the issue says
    return bank_db


@pytest.fixture
async def desk(late_december, monkeypatch):
    async with shared.running_desk(monkeypatch) as console:
        yield console


def import_2027() -> schedule.Imported:
    return serve(schedule.import_table, TABLE_2027, by="boss")


# --- the schedule before and after it is entered ---------------------------------------------

def test_an_unknown_year_is_unpublished_and_bookings_stop_at_the_last_known_day(late_december):
    monday = futian_on(FIRST_MONDAY)
    assert not monday.schedule_published
    assert not fetch(schedule.day_kind, NEW_YEARS_DAY).published
    assert fetch(schedule.day_kind, date(2026, 12, 31)).published
    assert fetch(tickets.bookable_until, LATE_DECEMBER.date()) == date(2026, 12, 31)
    assert fetch(schedule.missing_next_year, LATE_DECEMBER.date()) == 2027


def test_importing_2027_closes_the_holidays_and_opens_the_make_up_sunday(late_december):
    imported = import_2027()
    assert imported.years == (2027,) and imported.holidays == 1 + 7 + 7 and imported.working_days == 1
    new_year = futian_on(NEW_YEARS_DAY)
    assert not new_year.is_open and new_year.holiday == "元旦" and new_year.schedule_published
    assert futian_on(date(2027, 2, 10)).holiday == "春节"
    luohu_sunday = fetch(lambda s: hours_on(s, find_branch(s, "罗湖支行"), date(2027, 2, 14)))
    assert luohu_sunday.makeup_working_day and (luohu_sunday.opens, luohu_sunday.closes) == (time(9), time(17))
    monday = futian_on(FIRST_MONDAY)
    assert monday.is_open and monday.schedule_published and monday.holiday is None
    assert fetch(tickets.bookable_until, LATE_DECEMBER.date()) == date(2027, 1, 10)   # the 14-day horizon again
    assert fetch(schedule.missing_next_year, LATE_DECEMBER.date()) is None
    with transaction() as session:
        assert session.get(OfficialDay, NEW_YEARS_DAY).entered_by == "boss"
        assert session.get(ScheduleYear, 2027) is not None


def test_a_second_import_replaces_the_year_instead_of_adding_to_it(late_december):
    import_2027()
    serve(schedule.import_table, "2027-01-01\t放假\t元旦", by="boss")
    with transaction() as session:
        assert session.execute(select(func.count()).select_from(OfficialDay)).scalar_one() == 1
    assert futian_on(date(2027, 2, 10)).holiday is None


def test_a_bank_row_wins_over_the_package(late_december):
    assert futian_on(date(2026, 12, 31)).is_open                     # the package: an ordinary Thursday
    serve(schedule.enter_day, date(2026, 12, 31), "放假", "元旦", by="boss")
    assert futian_on(date(2026, 12, 31)).holiday == "元旦"
    serve(schedule.remove_day, date(2026, 12, 31))
    assert futian_on(date(2026, 12, 31)).is_open


def test_days_entered_one_by_one_count_once_the_year_is_confirmed(late_december):
    serve(schedule.enter_day, NEW_YEARS_DAY, "放假", "元旦", by="boss")
    assert not futian_on(FIRST_MONDAY).schedule_published
    assert fetch(schedule.missing_next_year, LATE_DECEMBER.date()) == 2027
    serve(schedule.confirm_year, 2027, by="boss")
    assert futian_on(FIRST_MONDAY).schedule_published


@pytest.mark.parametrize("table, reason", [
    ("2027-01-01\t放假\t元旦\n2027-01-32\t放假\t元旦", "第 2 行"),
    ("2027-01-04\t上班\t春节", "本来就上班"),
    ("2027-01-01\t放假", "什么节日"),
    ("2027-01-01\t补班\t元旦", "不是“放假”或“上班”"),
    ("2027-02-06~2027-02-01\t放假\t春节", "结束日要在开始日之后"),
    ("2027-01-01\t放假\t元旦\n2027-01-01\t放假\t元旦", "已经写过了"),
    ("", "没有读到"),
])
def test_a_wrong_table_is_refused_with_the_line_and_nothing_is_stored(late_december, table, reason):
    with pytest.raises(Refusal) as caught:
        serve(schedule.import_table, table, by="boss")
    assert caught.value.code == "invalid" and reason in caught.value.message, caught.value.message
    assert fetch(schedule.entered_rows, 2027) == [] and not fetch(schedule.year_known, 2027)


def test_the_profile_may_allow_bookings_past_the_known_schedule(late_december, monkeypatch, tmp_path):
    profile = yaml.safe_load(Path("bot/bank/demo_bank.yml").read_text(encoding="utf-8"))
    profile["bank"]["book_past_known_holidays"] = True
    path = tmp_path / "bank.yml"
    path.write_text(yaml.safe_dump(profile, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("BANK_PROFILE", str(path))
    assert fetch(tickets.bookable_until, LATE_DECEMBER.date()) == date(2027, 1, 10)


# --- what the bot says ----------------------------------------------------------------------

async def run_action(action, conversation):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, conversation, domain())
    return events, dispatcher.messages


async def test_the_bot_says_the_schedule_is_not_published_for_a_2027_day(late_december):
    conversation = tracker("booking_asked_day", "福田支行1月4号开门吗", intent="ask_opening_hours",
                           at=LATE_DECEMBER, entities=[{"entity": "branch", "value": "福田支行"}])
    _, messages = await run_action(ActionAnswerOpeningHours(), conversation)
    assert [m["response"] for m in messages] == ["utter_holiday_schedule_not_published"]
    assert messages[0]["year"] == 2027
    wording = domain()["responses"]["utter_holiday_schedule_not_published"][0]["text"]
    assert "{year}年的法定节假日安排" in wording and "还没有公布" in wording


async def test_after_the_import_the_bot_states_the_hours_again(late_december):
    import_2027()
    conversation = tracker("booking_asked_day", "福田支行1月1号开门吗", intent="ask_opening_hours",
                           at=LATE_DECEMBER, entities=[{"entity": "branch", "value": "福田支行"}])
    _, messages = await run_action(ActionAnswerOpeningHours(), conversation)
    assert messages[0]["response"] == "utter_hours_answer"
    assert "元旦" in messages[0]["lines"] and "不营业" in messages[0]["lines"]


async def test_a_booking_in_2027_waits_for_the_schedule(late_december):
    day_asked = tracker("booking_asked_day", "1月4号", at=LATE_DECEMBER)
    events, messages = await run_action(ValidateBookingForm(), day_asked)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["booking_day"] is None
    assert messages[0]["response"] == "utter_holiday_schedule_not_published"
    import_2027()
    events, messages = await run_action(ValidateBookingForm(), tracker("booking_asked_day", "1月4号", at=LATE_DECEMBER))
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["booking_day"] == "2027-01-04" and messages == []


# --- the console ----------------------------------------------------------------------------

async def test_the_console_warns_from_november_until_next_year_is_entered(desk, monkeypatch):
    client = await desk.login("futian")
    assert "2027 年的法定节假日安排还没有录入" in await (await client.get("/bookings")).text()
    monkeypatch.setenv("HELPLINE_NOW", "2026-10-31T10:00:00+08:00")
    assert "法定节假日安排还没有录入" not in await (await client.get("/bookings")).text()
    monkeypatch.setenv("HELPLINE_NOW", LATE_DECEMBER.isoformat())
    import_2027()
    assert "法定节假日安排还没有录入" not in await (await client.get("/bookings")).text()


async def test_an_admin_pastes_the_2027_table_in_the_console(desk):
    client = await desk.login("boss")
    page = await (await client.get("/holidays")).text()
    assert "2027 年法定节假日与调休" in page and "还没有录入" in page
    answer = await post_form(client, "/holidays/import", {"table": TABLE_2027, "back": "/holidays?year=2027"})
    assert answer.status == 303 and answer.headers["Location"].startswith("/holidays?year=2027")
    page = await (await client.get(answer.headers["Location"])).text()
    assert "放假 15 天，调休上班 1 天" in page and "已完整录入" in page
    assert not futian_on(NEW_YEARS_DAY).is_open
    listed = await (await client.get("/api/holidays?year=2027")).json()
    assert listed["entered"] and listed["rows"][0] == {"day": "2027-01-01", "kind": "holiday", "name": "元旦"}


async def test_an_admin_enters_one_day_and_a_wrong_one_comes_back_with_the_reason(desk):
    client = await desk.login("boss")
    saved = await post_json(client, "/api/holidays/days", {"day": "2027-01-01", "kind": "放假", "name": "元旦"})
    assert saved.status == 200 and (await saved.json())["kind"] == "holiday"
    wrong = await post_json(client, "/api/holidays/days", {"day": "2027-01-04", "kind": "上班", "name": ""})
    assert wrong.status == 400 and "本来就上班" in (await wrong.json())["message"]
    assert [row.day for row in fetch(schedule.entered_rows, 2027)] == [NEW_YEARS_DAY]


@pytest.mark.parametrize("username", ["futian", "agent"])
async def test_only_admins_change_the_schedule(desk, username):
    client = await desk.login(username)
    page = await (await client.get("/holidays")).text()
    assert "还没有录入" in page and "粘贴全年安排" not in page
    answer = await post_json(client, "/api/holidays/import", {"table": TABLE_2027})
    assert answer.status == 403
    assert not fetch(schedule.year_known, 2027)
