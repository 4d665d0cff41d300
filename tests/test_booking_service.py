"""Booking rules: quotas, one active booking per service, atomic tickets."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

import pytest
from sqlalchemy import func, select, update

from bot.bank.booking import lifecycle as bookings
from bot.bank.capacity import slots as tickets
from bot.bank.db import transaction
from bot.bank.hours.timetable import find_branch
from bot.bank.customers.identity import customer_by_phone
from bot.bank.models import Booking, Slot
from bot.bank.seed import seed
from bot.clock import SHANGHAI
from bot.bank.refusals import Refusal
from tests.bankdb import postgres_available, scratch_postgres

NOW = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)
TUESDAY = date(2026, 9, 29)


def customer(phone: str) -> int:
    with transaction() as session:
        return customer_by_phone(session, phone).id


def first_slot(service: str = "面签", day: date = TUESDAY, branch: str = "福田支行") -> tickets.SlotView:
    with transaction() as session:
        return tickets.free_slots(session, find_branch(session, branch), service, day, NOW)[0]


def book(customer_id: int, slot_id: int, party: str = bookings.SELF) -> bookings.BookingView:
    with transaction() as session:
        return bookings.book(session, customer_id, slot_id, "rest", NOW, party=party)


def test_slots_follow_opening_hours_and_skip_lunch(bank_db):
    with transaction() as session:
        slots = tickets.free_slots(session, find_branch(session, "福田支行"), "面签", TUESDAY, NOW)
    starts = [s.starts_at.strftime("%H:%M") for s in slots]
    assert starts[0] == "09:00" and starts[-1] == "16:30"
    assert "12:00" not in starts and "12:30" not in starts
    assert all(s.left == tickets.DEFAULT_CAPACITY for s in slots)


def test_no_slots_on_a_public_holiday(bank_db):
    with transaction() as session:
        assert tickets.free_slots(session, find_branch(session, "福田支行"), "面签", date(2026, 10, 1), NOW) == []


def test_booking_takes_a_ticket_and_a_repeat_returns_the_same_booking(bank_db):
    slot, me = first_slot(), customer("13800138000")
    first = book(me, slot.id)
    again = book(me, slot.id)
    assert first.created and not again.created
    assert again.reference == first.reference
    with transaction() as session:
        assert session.get(Slot, slot.id).booked == 1
        assert session.execute(select(func.count(Booking.id))).scalar_one() == 1


def test_co_applicants_are_booked_into_different_slots(bank_db):
    me, slots = customer("13800138000"), None
    with transaction() as session:
        slots = tickets.free_slots(session, find_branch(session, "福田支行"), "面签", TUESDAY, NOW)
    book(me, slots[0].id)
    with pytest.raises(Refusal) as same_slot:
        book(me, slots[0].id, party="共同借款人")
    assert same_slot.value.code == "taken"
    co_borrower = book(me, slots[1].id, party="共同借款人")
    assert co_borrower.created and co_borrower.party == "共同借款人"


def test_a_full_slot_refuses_and_staff_can_lower_capacity(bank_db):
    slot = first_slot()
    with transaction() as session:
        session.execute(update(Slot).where(Slot.id == slot.id).values(capacity=1))
    book(customer("13800000001"), slot.id)
    with pytest.raises(Refusal) as full:
        book(customer("13800000002"), slot.id)
    assert full.value.code == "full"


def test_cancel_gives_the_ticket_back(bank_db):
    slot, me = first_slot(), customer("13800138000")
    made = book(me, slot.id)
    with transaction() as session:
        bookings.cancel(session, me, made.reference, NOW)
        assert session.get(Slot, slot.id).booked == 0
        assert bookings.bookings_of(session, me, NOW.date()) == []


def test_reschedule_moves_the_ticket(bank_db):
    me = customer("13800138000")
    with transaction() as session:
        slots = tickets.free_slots(session, find_branch(session, "福田支行"), "面签", TUESDAY, NOW)
    made = book(me, slots[0].id)
    with transaction() as session:
        moved = bookings.reschedule(session, me, made.reference, slots[3].id, NOW)
        assert moved.starts_at == slots[3].starts_at and moved.reference == made.reference
        assert session.get(Slot, slots[0].id).booked == 0
        assert session.get(Slot, slots[3].id).booked == 1


def test_a_past_slot_cannot_be_booked(bank_db):
    with transaction() as session:
        past = tickets.ensure_slots(session, find_branch(session, "福田支行"), "面签", NOW.date())[0]
    with pytest.raises(Refusal) as gone:
        book(customer("13800138000"), past.id)
    assert gone.value.code == "gone"


def race_for_last_ticket(requests: int = 50) -> tuple:
    """`requests` different customers try to take the last ticket at once."""
    slot = first_slot()
    with transaction() as session:
        session.execute(update(Slot).where(Slot.id == slot.id).values(capacity=1))
    customers = [customer(f"1390000{n:04d}") for n in range(requests)]

    def attempt(customer_id: int) -> str:
        try:
            return "booked" if book(customer_id, slot.id).created else "repeat"
        except Refusal as error:
            return error.code

    with ThreadPoolExecutor(max_workers=requests) as pool:
        outcomes = list(pool.map(attempt, customers))
    with transaction() as session:
        booked = session.get(Slot, slot.id).booked
        rows = session.execute(select(func.count(Booking.id)).where(Booking.slot_id == slot.id)).scalar_one()
    return outcomes, booked, rows


def test_fifty_concurrent_requests_for_the_last_ticket_on_sqlite(bank_db):
    outcomes, booked, rows = race_for_last_ticket()
    assert outcomes.count("booked") == 1 and outcomes.count("full") == 49
    assert booked == rows == 1


@pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not running (.ci/run starts it)")
def test_fifty_concurrent_requests_for_the_last_ticket_on_postgresql(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPLINE_DATA_DIR", str(tmp_path))
    with scratch_postgres() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        seed(today=NOW.date())
        outcomes, booked, rows = race_for_last_ticket()
    assert outcomes.count("booked") == 1 and outcomes.count("full") == 49
    assert booked == rows == 1
