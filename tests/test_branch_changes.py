"""A branch closes a day with bookings: staff see who is affected, and confirming tells each customer."""
from __future__ import annotations

from datetime import time

from sqlalchemy import select

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
