"""Branch administration rules (bot.bank.branch_admin), without a web server."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from bot.bank.booking import lifecycle as bookings
from bot.bank.capacity import slots as tickets
from bot.bank.capacity import admin as capacity_admin
from bot.bank.booking import counter
from bot.bank.hours import admin as hours_admin
from bot.bank.booking.models import BookingStatus
from bot.bank.db import transaction
from bot.bank.hours.timetable import find_branch, hours_on, notices_for
from bot.bank.customers.identity import customer_by_phone
from bot.bank.models import Booking, Slot
from bot.bank.seed import seed
from bot.clock import SHANGHAI
from bot.bank.refusals import Refusal
from tests.bankdb import postgres_available, scratch_postgres

NOW = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)     # Monday, as pinned by `bank_db`
TODAY = NOW.date()
TUESDAY, WEDNESDAY = date(2026, 9, 29), date(2026, 9, 30)
NATIONAL_DAY = date(2026, 10, 1)


def book(phone: str, day: date = TODAY, at: time = time(10), service: str = "面签",
         branch: str = "福田支行") -> str:
    """Book the slot starting at `at`; returns the booking reference."""
    with transaction() as session:
        customer = customer_by_phone(session, phone)
        slot = next(s for s in tickets.free_slots(session, find_branch(session, branch), service, day, NOW)
                    if s.starts_at == at)
        return bookings.book(session, customer.id, slot.id, "rest", NOW).reference


def run(func, *args, **kwargs):
    with transaction() as session:
        return func(session, *args, **kwargs)


def slot_at(day: date, at: time, service: str = "面签", branch_id: str = "futian") -> Slot:
    with transaction() as session:
        return session.execute(select(Slot).where(
            Slot.branch_id == branch_id, Slot.service == service, Slot.day == day, Slot.starts_at == at)
        ).scalar_one_or_none()


def status_of(reference: str) -> str:
    with transaction() as session:
        return session.execute(select(Booking.status).where(Booking.reference == reference)).scalar_one()


# --- the counter --------------------------------------------------------------------

def test_bookings_on_lists_the_day_with_masked_phones(bank_db):
    reference = book("13800138000")
    book("13900139000", day=TUESDAY)
    rows = run(counter.bookings_on, TODAY, "futian")
    assert [row.reference for row in rows] == [reference]
    assert rows[0].customer_phone == "138****8000"
    assert rows[0].status_label == "待到店" and rows[0].branch_name == "福田支行"
    assert run(counter.bookings_on, TODAY, "nanshan") == []


def test_check_in_sets_the_time_and_a_second_tap_changes_nothing(bank_db):
    reference = book("13800138000")
    first = run(counter.check_in, reference.lower(), NOW, "futian")
    again = run(counter.check_in, reference, NOW + timedelta(minutes=5), "futian")
    assert first.status == again.status == BookingStatus.CHECKED_IN
    assert again.checked_in_at.replace(tzinfo=None) == NOW.replace(tzinfo=None)


def test_check_in_only_on_the_booking_day_and_only_in_ones_own_branch(bank_db):
    tomorrow = book("13800138000", day=TUESDAY)
    with pytest.raises(Refusal) as refused:
        run(counter.check_in, tomorrow, NOW, "futian")
    assert refused.value.code == "not_today" and "9月29日" in refused.value.message
    today = book("13900139000")
    with pytest.raises(Refusal) as other:
        run(counter.check_in, today, NOW, "nanshan")
    assert other.value.code == "other_branch"
    with pytest.raises(Refusal) as unknown:
        run(counter.check_in, "YYNOSUCH", NOW)
    assert unknown.value.code == "not_found"


def test_a_cancelled_booking_cannot_be_checked_in(bank_db):
    reference = book("13800138000")
    with transaction() as session:
        customer = customer_by_phone(session, "13800138000")
        bookings.cancel(session, customer.id, reference, NOW)
    with pytest.raises(Refusal) as refused:
        run(counter.check_in, reference, NOW)
    assert refused.value.code == "not_active" and "已取消" in refused.value.message


def test_no_show_waits_for_the_slot_and_lets_the_customer_book_again(bank_db):
    reference = book("13800138000", at=time(10))
    with pytest.raises(Refusal) as early:
        run(counter.mark_no_show, reference, NOW)
    assert early.value.code == "not_started"
    marked = run(counter.mark_no_show, reference, NOW.replace(hour=10, minute=40))
    assert marked.status == BookingStatus.NO_SHOW
    again = book("13800138000", at=time(14))
    assert again != reference and status_of(again) == BookingStatus.ACTIVE


def test_a_late_customer_marked_no_show_can_still_check_in(bank_db):
    reference = book("13800138000")
    run(counter.mark_no_show, reference, NOW.replace(hour=11))
    assert run(counter.check_in, reference, NOW.replace(hour=11, minute=20)).status == BookingStatus.CHECKED_IN


def test_undo_puts_a_mistaken_check_in_back(bank_db):
    reference = book("13800138000")
    run(counter.check_in, reference, NOW)
    undone = run(counter.undo_mark, reference, NOW)
    assert undone.status == BookingStatus.ACTIVE and undone.checked_in_at is None
    with pytest.raises(Refusal):
        run(counter.undo_mark, reference, NOW)


def test_undo_is_refused_once_the_customer_booked_the_service_again(bank_db):
    reference = book("13800138000", at=time(10))
    run(counter.mark_no_show, reference, NOW.replace(hour=10, minute=45))
    book("13800138000", at=time(15))
    with pytest.raises(Refusal) as refused:
        run(counter.undo_mark, reference, NOW.replace(hour=11))
    assert refused.value.code == "rebooked"
    assert status_of(reference) == BookingStatus.NO_SHOW


# --- opening hours --------------------------------------------------------------------

def test_closing_a_day_changes_hours_on_and_takes_its_slots_off_sale(bank_db):
    stranded = book("13800138000", day=WEDNESDAY, at=time(10))  # creates the day's slots
    change = run(hours_admin.add_exception, "futian", WEDNESDAY, closed=True, reason="网点消毒，暂停营业一天",
                 today=TODAY)
    assert not change.replaced and [b.reference for b in change.affected] == [stranded]
    with transaction() as session:
        futian = find_branch(session, "福田支行")
        day = hours_on(session, futian, WEDNESDAY)
        assert not day.is_open and day.reason == "网点消毒，暂停营业一天"
        assert tickets.free_slots(session, futian, "面签", WEDNESDAY, NOW) == []
    kept = slot_at(WEDNESDAY, time(10))
    assert kept.capacity == kept.booked == 1           # the booking stays, no new tickets
    assert slot_at(WEDNESDAY, time(11)) is None        # empty slots are gone


def test_shortened_hours_leave_only_slots_inside_them(bank_db):
    early = book("13800138000", day=WEDNESDAY, at=time(9))
    inside = book("13900139000", day=WEDNESDAY, at=time(10, 30))
    change = run(hours_admin.add_exception, "futian", WEDNESDAY, closed=False, opens=time(10), closes=time(15),
                 reason="疫情防控，缩短营业时间", today=TODAY)
    assert [b.reference for b in change.affected] == [early]
    with transaction() as session:
        free = tickets.free_slots(session, find_branch(session, "福田支行"), "面签", WEDNESDAY, NOW)
    starts = [slot.starts_at for slot in free]
    assert starts[0] == time(10) and starts[-1] == time(14, 30)
    assert status_of(inside) == BookingStatus.ACTIVE


def test_a_second_exception_for_the_day_replaces_the_first(bank_db):
    run(hours_admin.add_exception, "futian", WEDNESDAY, closed=True, reason="轮休", today=TODAY)
    change = run(hours_admin.add_exception, "futian", WEDNESDAY, closed=False, opens=time(9), closes=time(12),
                 reason="上午营业", today=TODAY)
    assert change.replaced
    rows = [row for row in run(hours_admin.upcoming_exceptions, "futian", TODAY) if row.day == WEDNESDAY]
    assert len(rows) == 1 and rows[0].opens == time(9) and not rows[0].closed


@pytest.mark.parametrize("kwargs, words", [
    ({"day": TODAY - timedelta(days=1), "closed": True, "reason": "轮休"}, "已经过去"),
    ({"day": WEDNESDAY, "closed": True, "reason": "  "}, "原因"),
    ({"day": WEDNESDAY, "closed": False, "opens": time(15), "closes": time(10), "reason": "调整"}, "晚于"),
    ({"day": WEDNESDAY, "closed": False, "opens": time(10), "reason": "调整"}, "关门时间"),
])
def test_exceptions_that_make_no_sense_are_refused(bank_db, kwargs, words):
    day = kwargs.pop("day")
    with pytest.raises(Refusal) as refused:
        run(hours_admin.add_exception, "futian", day, today=TODAY, **kwargs)
    assert refused.value.code == "invalid" and words in refused.value.message


def test_removing_an_exception_restores_the_weekly_hours(bank_db):
    change = run(hours_admin.add_exception, "futian", WEDNESDAY, closed=True, reason="轮休", today=TODAY)
    run(hours_admin.remove_exception, "futian", change.exception.id, TODAY)
    with transaction() as session:
        day = hours_on(session, find_branch(session, "福田支行"), WEDNESDAY)
    assert (day.opens, day.closes) == (time(9), time(17))
    with pytest.raises(Refusal):   # already gone
        run(hours_admin.remove_exception, "futian", change.exception.id, TODAY)


def test_another_branchs_exception_cannot_be_removed(bank_db):
    change = run(hours_admin.add_exception, "nanshan", WEDNESDAY, closed=True, reason="轮休", today=TODAY)
    with pytest.raises(Refusal) as refused:
        run(hours_admin.remove_exception, "futian", change.exception.id, TODAY)
    assert refused.value.code == "not_found"


def test_upcoming_days_show_what_customers_are_told(bank_db):
    run(hours_admin.add_exception, "futian", WEDNESDAY, closed=True, reason="轮休", today=TODAY)
    lines = {line.day: line for line in run(hours_admin.upcoming_days, "futian", TODAY, 14)}
    assert not lines[WEDNESDAY].is_open and lines[WEDNESDAY].exception
    assert not lines[NATIONAL_DAY].is_open and "国庆" in lines[NATIONAL_DAY].reason
    assert lines[date(2026, 10, 10)].is_open          # the make-up Saturday
    assert [row.label for row in run(hours_admin.weekly_timetable, "futian")][0] == "周一"


# --- notices ------------------------------------------------------------------------------

def futian_notices(day: date):
    with transaction() as session:
        return notices_for(session, find_branch(session, "福田支行"), day)


def test_a_notice_is_told_from_its_start_and_ending_it_stops_it_today(bank_db):
    notice = run(hours_admin.add_notice, "futian", "本网点暂停现金业务，取现请提前一天预约。",
                 starts_on=TODAY, ends_on=None, today=TODAY)
    assert notice.body in futian_notices(TODAY)
    with pytest.raises(Refusal):  # nanshan may not end futian's notice
        run(hours_admin.end_notice, notice.id, branch_id="nanshan", today=TODAY)
    later = TODAY + timedelta(days=2)
    run(hours_admin.end_notice, notice.id, branch_id="futian", today=later)
    assert notice.body not in futian_notices(later)
    assert notice.body in futian_notices(later - timedelta(days=1))


def test_a_notice_that_has_not_started_is_simply_removed(bank_db):
    notice = run(hours_admin.add_notice, "futian", "下周起周六暂停营业。", starts_on=WEDNESDAY, ends_on=None, today=TODAY)
    run(hours_admin.end_notice, notice.id, branch_id="futian", today=TODAY)
    assert all(n.id != notice.id for n in run(hours_admin.notices_in_force, "futian", TODAY))


def test_bank_wide_notices_need_permission_to_end(bank_db):
    bank_wide = next(n for n in run(hours_admin.notices_in_force, "futian", TODAY) if n.bank_wide)
    with pytest.raises(Refusal):
        run(hours_admin.end_notice, bank_wide.id, branch_id="futian", today=TODAY)
    run(hours_admin.end_notice, bank_wide.id, branch_id="futian", today=TODAY, bank_wide_ok=True)
    assert bank_wide.body not in futian_notices(TODAY)


@pytest.mark.parametrize("body, starts, ends", [
    ("", TODAY, None), ("公" * 301, TODAY, None), ("好", TODAY - timedelta(days=1), None), ("好", WEDNESDAY, TUESDAY),
])
def test_bad_notices_are_refused(bank_db, body, starts, ends):
    with pytest.raises(Refusal):
        run(hours_admin.add_notice, "futian", body, starts_on=starts, ends_on=ends, today=TODAY)


# --- tickets ----------------------------------------------------------------------------------

def test_a_rule_sets_new_slots_and_existing_future_ones_but_never_below_bookings(bank_db):
    for phone in ("13800138000", "13900139000", "13700137000"):
        book(phone, day=TUESDAY, at=time(10))
    change = run(capacity_admin.set_capacity_rule, "futian", "面签", 2, TODAY)
    assert change.kept_at_booked == 1 and change.slots_changed > 0
    assert slot_at(TUESDAY, time(10)).capacity == 3            # kept at what is booked
    assert slot_at(TUESDAY, time(11)).capacity == 2
    with transaction() as session:
        fresh = tickets.free_slots(session, find_branch(session, "福田支行"), "面签", date(2026, 10, 9), NOW)
        other = tickets.free_slots(session, find_branch(session, "福田支行"), "开户", TUESDAY, NOW)
    assert {slot.left for slot in fresh} == {2}
    assert {slot.left for slot in other} == {tickets.DEFAULT_CAPACITY}


def test_the_branch_default_leaves_services_with_their_own_rule_alone(bank_db):
    run(capacity_admin.set_capacity_rule, "futian", "面签", 2, TODAY)
    run(capacity_admin.set_capacity_rule, "futian", None, 6, TODAY)
    sources = {row.service: (row.capacity, row.source) for row in run(capacity_admin.effective_capacities, "futian")}
    assert sources["面签"] == (2, "service") and sources["开户"] == (6, "branch")
    assert [rule.service for rule in run(capacity_admin.capacity_rules, "futian")] == [None, "面签"]
    run(capacity_admin.set_capacity_rule, "futian", None, 5, TODAY)        # updates, does not duplicate
    assert len(run(capacity_admin.capacity_rules, "futian")) == 2
    run(capacity_admin.remove_capacity_rule, "futian", "面签", TODAY)
    assert {row.capacity for row in run(capacity_admin.effective_capacities, "futian")} == {5}


@pytest.mark.parametrize("service, capacity", [("面签", -1), ("面签", capacity_admin.MAX_CAPACITY + 1), ("买基金", 3)])
def test_bad_rules_are_refused(bank_db, service, capacity):
    with pytest.raises(Refusal) as refused:
        run(capacity_admin.set_capacity_rule, "futian", service, capacity, TODAY)
    assert refused.value.code == "invalid"


def test_lowering_a_day_below_its_bookings_is_refused_and_changes_nothing(bank_db):
    book("13800138000", day=TUESDAY, at=time(10))
    book("13900139000", day=TUESDAY, at=time(10))
    with pytest.raises(Refusal) as refused:
        run(capacity_admin.set_day_capacity, "futian", TUESDAY, 1, today=TODAY, service="面签")
    assert refused.value.code == "below_booked"
    assert "10:00 面签已有 2 人预约" in refused.value.message and "超过调整后的名额（1 个）" in refused.value.message
    assert {row.capacity for row in run(capacity_admin.day_slots, "futian", TUESDAY, "面签")} == {tickets.DEFAULT_CAPACITY}


def test_a_days_tickets_can_be_lowered_to_the_bookings_or_set_per_slot(bank_db):
    book("13800138000", day=TUESDAY, at=time(10))
    rows = run(capacity_admin.set_day_capacity, "futian", TUESDAY, 1, today=TODAY, service="面签")
    assert {row.capacity for row in rows} == {1}
    assert slot_at(TUESDAY, time(10)).booked == 1
    one = run(capacity_admin.set_day_capacity, "futian", TUESDAY, 6, today=TODAY, service="面签", starts_at=time(14))
    assert [(row.starts_at, row.capacity) for row in one] == [(time(14), 6)]
    everything = run(capacity_admin.set_day_capacity, "futian", WEDNESDAY, 3, today=TODAY)
    assert {row.service for row in everything} == set(find_services("futian")) and {r.capacity for r in everything} == {3}


def find_services(branch_id: str):
    return run(hours_admin.branch_info, branch_id).services


def test_a_closed_day_has_no_tickets_to_change(bank_db):
    with pytest.raises(Refusal) as refused:
        run(capacity_admin.set_day_capacity, "futian", NATIONAL_DAY, 2, today=TODAY, service="面签")
    assert refused.value.code == "closed_day"
    with pytest.raises(Refusal) as past:
        run(capacity_admin.set_day_capacity, "futian", TODAY - timedelta(days=1), 2, today=TODAY)
    assert past.value.code == "invalid"


@pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not running (.ci/run starts it)")
def test_row_locks_and_conditional_updates_on_postgresql(tmp_path, monkeypatch):
    """The SQL-heavy paths (SELECT … FOR UPDATE, CASE and conditional UPDATEs)
    behave the same on PostgreSQL."""
    monkeypatch.setenv("HELPLINE_DATA_DIR", str(tmp_path))
    with scratch_postgres() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        seed(today=TODAY)
        stranded = book("13800138000", day=WEDNESDAY)
        change = run(hours_admin.add_exception, "futian", WEDNESDAY, closed=True, reason="轮休", today=TODAY)
        assert [b.reference for b in change.affected] == [stranded]
        assert slot_at(WEDNESDAY, time(11)) is None
        book("13900139000", day=TUESDAY)
        book("13700137000", day=TUESDAY)
        assert run(capacity_admin.set_capacity_rule, "futian", "面签", 1, TODAY).kept_at_booked == 1
        assert slot_at(TUESDAY, time(10)).capacity == 2
        with pytest.raises(Refusal):
            run(capacity_admin.set_day_capacity, "futian", TUESDAY, 1, today=TODAY, service="面签", starts_at=time(10))
        today = book("13600136000")
        assert run(counter.check_in, today, NOW, "futian").status == BookingStatus.CHECKED_IN
