"""Which widget pages are open across a cluster's servers (bot/channels/widget_presence.py), on the
machine's Redis, and what a notification does when nobody has the page open."""
from __future__ import annotations

import uuid

import pytest

from bot.bank.messaging.outbox import OutboxItem, Unreachable
from bot.channels.widget import WidgetOutput
from bot.channels.widget_presence import STALE_SECONDS, RedisPresence
from tests.redis_service import REDIS_URL, redis_available

pytestmark = pytest.mark.skipif(not redis_available(), reason="needs the machine's Redis (make test starts it)")


@pytest.fixture
async def servers():
    """Two servers' views of presence, on keys of this test's own."""
    prefix = f"helpline:test:presence:{uuid.uuid4().hex}:"
    one, other = RedisPresence(REDIS_URL, prefix), RedisPresence(REDIS_URL, prefix)
    yield one, other
    for presence in (one, other):
        await presence.close()


async def test_a_page_open_on_one_server_is_seen_by_another_until_it_closes(servers):
    one, other = servers
    session = uuid.uuid4().hex
    assert not await other.is_open(session)
    await one.opened(session, "sid-1")
    assert await other.is_open(session)
    await one.opened(session, "sid-2")            # a second tab
    await one.closed("sid-1")
    assert await other.is_open(session)
    await one.closed("sid-2")
    assert not await other.is_open(session)


async def test_the_pages_of_a_server_that_stopped_refreshing_count_as_closed(servers):
    one, other = servers
    session = uuid.uuid4().hex
    await one.opened(session, "sid-1", at=1_000)
    assert await other.is_open(session, at=1_000 + STALE_SECONDS - 1)
    assert not await other.is_open(session, at=1_000 + STALE_SECONDS + 1)    # its server died
    await one.refresh(at=1_200)                                                # ...or was only slow
    assert await other.is_open(session, at=1_200 + STALE_SECONDS - 1)


async def test_a_socket_gone_while_joining_or_without_its_disconnect_is_forgotten(servers):
    one, other = servers
    session = uuid.uuid4().hex
    await one.opened(session, "sid-left-while-joining", still_open=lambda: False)
    assert not await other.is_open(session)
    await one.opened(session, "sid-1")
    await one.refresh(connected=lambda sid: False)     # its disconnect never reached us
    assert not await other.is_open(session) and one.local == {}


class RecordingSio:
    """Stands in for socket.io: the emits the output made."""

    def __init__(self) -> None:
        self.emitted = []

    async def emit(self, event, data, room=None, namespace=None):
        self.emitted.append((event, data, room))


def notification_row(session: str) -> OutboxItem:
    return OutboxItem(id=7, channel="widget", recipient_id=session, kind="deferral_decision",
                      messages=[{"text": "您的申请已经通过"}], resume=False, recorded=False, notification_id=3)


async def test_a_notification_goes_to_an_open_page_on_any_server_else_on_by_sms(servers):
    one, other = servers
    session, sio = uuid.uuid4().hex, RecordingSio()
    output = WidgetOutput(sio, "bot_uttered", "/chat", presence=other)
    await one.opened(session, "sid-on-server-one")
    await output.push(notification_row(session))
    assert [(event, data["text"], room) for event, data, room in sio.emitted] == [
        ("bot_uttered", "您的申请已经通过", session)]
    await one.closed("sid-on-server-one")
    with pytest.raises(Unreachable):               # the notification service moves on to SMS
        await output.push(notification_row(session))
    assert len(sio.emitted) == 1
