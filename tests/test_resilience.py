"""The bank database going away: no half-written booking, a clear word to the customer."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from actions.booking import ActionAskBranch, ActionSubmitBooking, ValidateBookingForm
from actions.handoff import ActionHandOff
from actions.resilience import BUSY, database_guarded
from bot import wording
from bot.bank.booking import lifecycle as bookings
from bot.bank.capacity import slots as tickets
from bot.bank.db import transaction
from bot.bank.hours.timetable import find_branch
from bot.bank.customers.identity import customer_by_phone
from bot.bank.models import Booking, Slot
from bot.clock import SHANGHAI

NOW = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)
DOMAIN = {"forms": {"booking_form": {"required_slots": ["branch", "service", "booking_day"]}},
          "slots": {}, "responses": {}}


def tracker(events=(), **slots) -> Tracker:
    return Tracker("cust-1", slots, {"text": "明天", "intent": {"name": "inform"}, "entities": []},
                   list(events), False, None, {"name": "booking_form"}, "action_listen")


@pytest.fixture
def database_down(monkeypatch):
    """The bank's PostgreSQL server refuses connections."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/bank")


def test_a_booking_interrupted_by_the_database_writes_nothing(bank_db, monkeypatch):
    with transaction() as session:
        me = customer_by_phone(session, "13800138000").id
        slot = tickets.free_slots(session, find_branch(session, "福田支行"), "面签", date(2026, 9, 29), NOW)[0]

    def connection_lost() -> str:  # after the ticket is taken, before the booking row
        raise OperationalError("INSERT INTO bookings", {}, Exception("server closed the connection"))

    monkeypatch.setattr(bookings, "new_reference", connection_lost)
    with pytest.raises(OperationalError):
        with transaction() as session:
            bookings.book(session, me, slot.id, "rest", NOW)
    with transaction() as session:
        assert session.get(Slot, slot.id).booked == 0
        assert session.execute(select(func.count(Booking.id))).scalar_one() == 0


async def test_submitting_a_booking_without_a_database_says_the_system_is_busy(database_down):
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitBooking().run(dispatcher, tracker(booking_confirmed=True, booking_slot="7"), DOMAIN)
    assert events == []
    assert [message["response"] for message in dispatcher.messages] == [BUSY]
    assert "{bank_hotline}" in wording.responses()[BUSY][0]["text"]


async def test_a_form_validation_without_a_database_keeps_the_slots_as_they_were(database_down):
    dispatcher = CollectingDispatcher()
    events = await ValidateBookingForm().run(dispatcher, tracker(requested_slot="booking_day"), DOMAIN)
    assert events == []
    assert [message["response"] for message in dispatcher.messages] == [BUSY]


async def test_the_next_question_in_the_same_turn_does_not_repeat_the_apology(database_down):
    said = [{"event": "user", "text": "福田支行"},
            {"event": "bot", "text": "抱歉，系统暂时有点忙", "metadata": {"utter_action": BUSY}}]
    dispatcher = CollectingDispatcher()
    assert await ActionAskBranch().run(dispatcher, tracker(said), DOMAIN) == []
    assert dispatcher.messages == []


async def test_a_hand_off_without_a_database_points_to_the_hotline(database_down, monkeypatch):
    monkeypatch.setenv("HELPLINE_NOW", "2026-09-28T09:30:00+08:00")  # agents' hours: the database is asked
    dispatcher = CollectingDispatcher()
    assert await ActionHandOff().run(dispatcher, tracker([{"event": "user", "text": "转人工"}]), DOMAIN) == []
    assert dispatcher.messages[-1]["response"] == BUSY


async def test_other_errors_are_not_hidden():
    @database_guarded
    class Broken(Action):
        def name(self) -> str:
            return "action_broken"

        async def run(self, dispatcher, tracker, domain):
            raise KeyError("a bug, not an outage")

    with pytest.raises(KeyError):
        await Broken().run(CollectingDispatcher(), tracker(), DOMAIN)
