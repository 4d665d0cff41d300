"""Opening hours honour holidays, make-up working days, exceptions and lunch."""
from datetime import date, datetime, time

from bot.bank.db import transaction
from bot.bank.hours.timetable import find_branch, hours_on, notices_for, open_now
from bot.clock import SHANGHAI


def hours(name, day):
    with transaction() as session:
        return hours_on(session, find_branch(session, name), day)


def test_weekday_hours_with_lunch_break(bank_db):
    monday = hours("福田支行", date(2026, 9, 28))
    assert (monday.opens, monday.closes, monday.lunch) == (time(9), time(17), (time(12), time(13)))


def test_public_holiday_closes_a_branch(bank_db):
    national_day = hours("福田支行", date(2026, 10, 1))
    assert not national_day.is_open
    assert national_day.holiday == "国庆节"


def test_a_rotation_exception_opens_a_branch_on_a_holiday(bank_db):
    baoan = hours("宝安支行", date(2026, 10, 1))
    assert (baoan.opens, baoan.closes) == (time(10), time(15))
    assert "轮值" in baoan.reason


def test_make_up_working_saturday_uses_weekday_hours(bank_db):
    luohu = hours("罗湖支行", date(2026, 10, 10))  # 罗湖 is normally closed on Saturdays
    assert luohu.is_open and luohu.makeup_working_day
    assert (luohu.opens, luohu.closes) == (time(9), time(17))


def test_ordinary_weekend_follows_the_timetable(bank_db):
    assert not hours("罗湖支行", date(2026, 10, 17)).is_open
    saturday = hours("福田支行", date(2026, 10, 17))
    assert (saturday.opens, saturday.closes) == (time(9, 30), time(16))


def test_open_now_respects_lunch_and_closing(bank_db):
    with transaction() as session:
        futian = find_branch(session, "福田支行")
        at = lambda h, m: datetime(2026, 9, 28, h, m, tzinfo=SHANGHAI)
        assert open_now(session, futian, at(9, 30))[0]
        assert not open_now(session, futian, at(12, 30))[0]
        assert not open_now(session, futian, at(17, 0))[0]
        assert not open_now(session, futian, at(8, 59))[0]


def test_the_epidemic_notice_is_in_force(bank_db):
    with transaction() as session:
        assert any("先预约再去网点" in notice for notice in notices_for(session, None, date(2026, 9, 28)))
