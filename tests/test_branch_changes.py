"""A branch closes a day or cuts its tickets below the bookings: staff see who is affected, and
confirming tells each customer."""
from __future__ import annotations

from datetime import date, time
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from bot.bank.capacity.slots import DEFAULT_CAPACITY
from bot.bank.customers.identity import link
from bot.bank.db import transaction
from bot.bank.messaging.models import Notification, Outbox
from bot.bank.models import Booking, Slot
from tests import test_desk as shared
from tests.test_desk import NOW, TUESDAY, WEDNESDAY, book, post_form, post_json

desk = shared.desk
CHEN, HUANG = "13800138000", "13900139000"


def close_wednesday(client):
    return post_json(client, "/api/branches/futian/exceptions",
                     {"day": WEDNESDAY.isoformat(), "closed": True, "reason": "网点轮休"})


def notification_for(reference: str) -> Notification:
    with transaction() as session:
        return session.execute(select(Notification).where(Notification.kind == "branch_cancellation",
                                                          Notification.fields["booking"].as_string() == reference)
                               ).scalar_one()


async def test_closing_a_day_lists_the_affected_and_confirming_cancels_and_tells_them(desk):
    with transaction() as session:
        link(session, CHEN, "rest", "r-chen", NOW)
    chatting, offline = book(CHEN, day=WEDNESDAY), book(HUANG, day=WEDNESDAY, at=time(11))
    untouched = book("13700137000", day=TUESDAY)
    client = await desk.login("futian")
    assert (await close_wednesday(client)).status == 200
    page = await (await client.get("/branches/futian")).text()
    assert "受影响的预约" in page and chatting in page and offline in page and "139****9000" in page
    answer = await post_form(client, "/branches/futian/stranded/notify", {"day": WEDNESDAY.isoformat(),
                                                                          "back": "/branches/futian"})
    assert answer.status == 303
    page = await (await client.get(answer.headers["Location"])).text()
    assert "已取消9月30日（周三）的 2 个预约，并通知客户改约" in page and "受影响的预约" not in page
    told = notification_for(chatting).id
    with transaction() as session:
        statuses = dict(session.execute(select(Booking.reference, Booking.status)).all())
        assert (statuses[chatting], statuses[offline], statuses[untouched]) == ("cancelled", "cancelled", "active")
        closed_slots = session.execute(select(Slot).where(Slot.branch_id == "futian", Slot.day == WEDNESDAY)).scalars()
        assert all(slot.booked == slot.capacity == 0 for slot in closed_slots)   # no ticket offered on the closed day
        pushed = session.execute(select(Outbox).where(Outbox.notification_id == told)).scalar_one()
    message = pushed.payload["messages"][0]
    assert (pushed.channel, pushed.channel_user) == ("rest", "r-chen")
    assert "网点轮休" in message["text"] and "10月" in message["text"] and chatting in message["text"]
    assert message["buttons"][0]["payload"] == '/book_appointment{"branch":"福田支行","service":"面签"}'
    by_sms = notification_for(offline)
    assert by_sms.route == "sms" and offline in by_sms.text


async def test_a_second_confirmation_tells_nobody_twice_and_other_branches_may_not(desk):
    reference = book(CHEN, day=WEDNESDAY)
    client = await desk.login("futian")
    await close_wednesday(client)
    first = await (await post_json(client, "/api/branches/futian/stranded/notify", {"day": WEDNESDAY.isoformat()})).json()
    again = await (await post_json(client, "/api/branches/futian/stranded/notify", {"day": WEDNESDAY.isoformat()})).json()
    assert first[1] == [reference] and again[1] == []
    other = await desk.login("nanshan")
    refused = await post_json(other, "/api/branches/futian/stranded/notify", {"day": WEDNESDAY.isoformat()})
    assert refused.status == 403


def ten_oclock_signing(day: date) -> Slot:
    with transaction() as session:
        return session.execute(select(Slot).where(Slot.branch_id == "futian", Slot.day == day,
                                                  Slot.service == "面签", Slot.starts_at == time(10))).scalar_one()


async def test_cutting_a_days_capacity_below_bookings_shows_who_loses_a_place_first(desk):
    first, last = book("13800138000", day=TUESDAY), book("13900139000", day=TUESDAY)
    client = await desk.login("futian")
    refused = await post_json(client, "/api/branches/futian/capacity/day",
                              {"day": TUESDAY.isoformat(), "service": "面签", "capacity": 1})
    body = await refused.json()
    assert refused.status == 409 and body["error"] == "below_booked"
    assert "10:00 面签已有 2 人预约" in body["message"]
    page_post = await post_form(client, "/branches/futian/capacity/day",
                                {"day": TUESDAY.isoformat(), "service": "面签", "capacity": "1", "starts_at": "10:00"})
    shown = parse_qs(urlsplit(page_post.headers["Location"]).query)
    assert (shown["cut"], shown["starts_at"], shown["service"]) == (["1"], ["10:00"], ["面签"])
    page = await (await client.get(page_post.headers["Location"])).text()
    preview = page[page.index('id="cut"'):page.index("</form>", page.index('id="cut"'))]
    assert last in preview and first not in preview and "139****9000" in preview   # first come, first kept
    assert "取消这 1 个预约并通知客户" in preview
    slot = ten_oclock_signing(TUESDAY)
    assert (slot.capacity, slot.booked) == (DEFAULT_CAPACITY, 2)          # nothing changed yet
    allowed = await post_json(client, "/api/branches/futian/capacity/day",
                              {"day": TUESDAY.isoformat(), "service": "面签", "capacity": 2, "starts_at": "10:00"})
    assert allowed.status == 200 and (await allowed.json())[0]["capacity"] == 2


async def test_confirming_the_cut_cancels_the_latest_booking_and_tells_its_customer(desk):
    first, last = book("13800138000", day=TUESDAY), book("13900139000", day=TUESDAY)
    client = await desk.login("futian")
    confirmed = await post_form(client, "/branches/futian/capacity/day",
                                {"day": TUESDAY.isoformat(), "service": "面签", "capacity": "1", "starts_at": "10:00",
                                 "cancel_over": "1", "seen": last, "back": "/branches/futian/capacity"})
    assert confirmed.status == 303
    page = await (await client.get(confirmed.headers["Location"])).text()
    assert f"已取消 1 个预约（{last}）" in page
    slot = ten_oclock_signing(TUESDAY)
    assert (slot.capacity, slot.booked) == (1, 1)
    assert shared.booking_row(first).status == "active" and shared.booking_row(last).status == "cancelled"
    told = notification_for(last)
    assert told.route == "sms" and "福田支行办理面签的窗口临时减少" in told.text and last in told.text
    assert "福田支行近期还有号的时段" in told.text and "9月29日（周二） 10:00" not in told.text   # the cut slot is full


async def test_a_confirmation_whose_list_changed_meanwhile_changes_nothing_and_shows_the_new_list(desk):
    first, last = book(CHEN, day=TUESDAY), book(HUANG, day=TUESDAY)
    client = await desk.login("futian")
    stale = await post_form(client, "/branches/futian/capacity/day",
                            {"day": TUESDAY.isoformat(), "service": "面签", "capacity": "1", "starts_at": "10:00",
                             "cancel_over": "1", "seen": first, "back": "/branches/futian/capacity"})
    assert parse_qs(urlsplit(stale.headers["Location"]).query)["cut"] == ["1"]     # back to the preview
    page = await (await client.get(stale.headers["Location"])).text()
    assert "要取消的预约有变化" in page and last in page[page.index('id="cut"'):]
    assert ten_oclock_signing(TUESDAY).booked == 2
    assert (shared.booking_row(first).status, shared.booking_row(last).status) == ("active", "active")


def test_a_slot_already_begun_today_is_never_cut_and_served_customers_keep_their_ticket(bank_db):
    """Monday 09:30: the 09:00 slot has begun; at 10:00 one customer is checked in already."""
    from bot.bank.booking import branch_changes, counter
    from bot.bank.booking import lifecycle as bookings
    from bot.bank.capacity import admin as capacity_admin
    from bot.bank.capacity import slots as tickets
    from bot.bank.customers.identity import customer_by_phone
    from bot.bank.hours.timetable import find_branch
    from tests.bankdb import serve

    def book_at_eight(session, at):      # made before the 09:00 slot began
        early = NOW.replace(hour=8)
        slot = next(s for s in tickets.free_slots(session, find_branch(session, "福田支行"), "面签", NOW.date(), early)
                    if s.starts_at == time(9))
        return bookings.book(session, customer_by_phone(session, CHEN).id, slot.id, "rest", early).reference

    started = serve(book_at_eight)
    served, waiting = book(HUANG, day=NOW.date()), book("13700137000", day=NOW.date())
    serve(counter.check_in, served, NOW)
    over = serve(branch_changes.over_capacity, "futian", NOW.date(), 0, service="面签")
    assert [view.reference for view in over] == [waiting]
    cut = serve(branch_changes.cut_capacity, "futian", NOW.date(), 0, today=NOW.date(), service="面签",
                seen=[waiting])
    assert cut.cancelled == (waiting,)
    rows = {row.starts_at: (row.capacity, row.booked) for row in serve(capacity_admin.day_slots, "futian",
                                                                         NOW.date(), "面签")}
    assert rows[time(9)] == (1, 1) and rows[time(10)] == (1, 1) and rows[time(14)] == (0, 0)
    assert shared.booking_row(started).status == "active"
