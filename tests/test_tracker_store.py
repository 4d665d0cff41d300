"""The helpline's tracker store returns what Rasa's own SQL store returns, on SQLite and PostgreSQL."""
import asyncio
from contextlib import ExitStack
from pathlib import Path
from typing import Callable

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, text

from bot.tracker_store import UrlSQLTrackerStore
from tests.bankdb import postgres_available, scratch_postgres

DOMAIN = Domain.load("domain")


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request, tmp_path: Path) -> Callable[[], str]:
    """Makes empty databases of one kind; returns their URLs."""
    if request.param == "postgresql" and not postgres_available():
        pytest.skip("PostgreSQL is not running (.ci/run starts it)")
    with ExitStack() as databases:
        names = iter(range(10))

        def new() -> str:
            if request.param == "sqlite":
                return f"sqlite:///{tmp_path}/{next(names)}.db"
            return databases.enter_context(scratch_postgres())
        yield new


def a_conversation_in_two_sessions(store: SQLTrackerStore) -> None:
    """Two sessions, saved turn by turn as the Rasa server does."""
    tracker = DialogueStateTracker.from_events("customer-1", [], DOMAIN.slots)
    turns = [
        [ActionExecuted("action_session_start", timestamp=1), SessionStarted(timestamp=2),
         ActionExecuted("action_listen", timestamp=3), UserUttered("福田支行几点开门", timestamp=4),
         SlotSet("branch", "福田支行", timestamp=5), BotUttered("福田支行今天9:00-17:00营业。", timestamp=6),
         ActionExecuted("action_listen", timestamp=7)],
        [ActionExecuted("action_session_start", timestamp=100), SessionStarted(timestamp=101),
         SlotSet("branch", "福田支行", timestamp=102), ActionExecuted("action_listen", timestamp=103),
         UserUttered("我想预约", timestamp=104)],
    ]
    for events in turns:
        for event in events:
            tracker.update(event)
        asyncio.run(store.save(tracker))


class RecordingBroker(EventBroker):
    def __init__(self) -> None:
        self.published = []

    def publish(self, event: dict) -> None:
        self.published.append(event)


def test_the_event_broker_gets_each_new_event_once_as_from_rasas_store(new_database) -> None:
    ours, rasas = RecordingBroker(), RecordingBroker()
    a_conversation_in_two_sessions(UrlSQLTrackerStore(DOMAIN, host=new_database(), event_broker=ours))
    a_conversation_in_two_sessions(SQLTrackerStore(DOMAIN, host=new_database(), event_broker=rasas))
    assert ours.published == rasas.published
    said = [e["text"] for e in ours.published if e["event"] in ("user", "bot")]
    assert said == ["福田支行几点开门", "福田支行今天9:00-17:00营业。", "我想预约"]


def test_the_latest_session_and_the_full_history_match_rasas_store(new_database) -> None:
    url = new_database()
    a_conversation_in_two_sessions(UrlSQLTrackerStore(DOMAIN, host=url))
    ours, rasas = UrlSQLTrackerStore(DOMAIN, host=url), SQLTrackerStore(DOMAIN, host=url)

    latest = asyncio.run(ours.retrieve("customer-1"))
    assert [e.as_dict() for e in latest.events] == [e.as_dict() for e in asyncio.run(rasas.retrieve("customer-1")).events]
    assert [e.type_name for e in latest.events] == ["session_started", "slot", "action", "user"]
    assert latest.get_slot("branch") == "福田支行"

    full = asyncio.run(ours.retrieve_full_tracker("customer-1"))
    rasas_full = asyncio.run(rasas.retrieve_full_tracker("customer-1"))
    assert [e.as_dict() for e in full.events] == [e.as_dict() for e in rasas_full.events]
    assert sum(e.type_name == "session_started" for e in full.events) == 2
    assert asyncio.run(ours.retrieve("nobody")) is None


def stored_rows(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(
                "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id"))]
    finally:
        engine.dispose()


def test_the_stored_rows_are_rasas(new_database) -> None:
    ours, rasas = new_database(), new_database()
    a_conversation_in_two_sessions(UrlSQLTrackerStore(DOMAIN, host=ours))
    a_conversation_in_two_sessions(SQLTrackerStore(DOMAIN, host=rasas))
    rows = stored_rows(ours)
    assert rows == stored_rows(rasas)
    assert [row[1] for row in rows].count("user") == 2


def events_of(tracker: DialogueStateTracker) -> list:
    return [event.as_dict() for event in tracker.events]


def a_turn(tracker: DialogueStateTracker, said: str, stamp: float) -> None:
    for event in (UserUttered(said, timestamp=stamp), BotUttered(f"答：{said}", timestamp=stamp + 0.1),
                  ActionExecuted("action_listen", timestamp=stamp + 0.2)):
        tracker.update(event)


def one_saved_session(store: UrlSQLTrackerStore) -> DialogueStateTracker:
    tracker = DialogueStateTracker.from_events("customer-2", [
        ActionExecuted("action_session_start", timestamp=1), SessionStarted(timestamp=2),
        ActionExecuted("action_listen", timestamp=3)], DOMAIN.slots)
    a_turn(tracker, "手机银行怎么转账", 4)
    asyncio.run(store.save(tracker))
    return tracker


def test_a_server_hands_back_the_tracker_it_saved_without_replaying_it(new_database) -> None:
    url = new_database()
    store = UrlSQLTrackerStore(DOMAIN, host=url)
    one_saved_session(store)  # holds action_session_start, which Rasa's session (from session_started) does not
    read = asyncio.run(store.retrieve("customer-2"))
    for stamp in (10, 20):
        a_turn(read, f"第{stamp}句", stamp)
        asyncio.run(store.save(read))
        assert asyncio.run(store.retrieve("customer-2")) is read
    assert events_of(read) == events_of(asyncio.run(SQLTrackerStore(DOMAIN, host=url).retrieve("customer-2")))


def test_turns_another_server_handled_since_are_applied_to_the_saved_tracker(new_database) -> None:
    url = new_database()
    here, there = UrlSQLTrackerStore(DOMAIN, host=url), UrlSQLTrackerStore(DOMAIN, host=url)
    one_saved_session(here)
    mine = asyncio.run(here.retrieve("customer-2"))
    asyncio.run(here.save(mine))
    for stamp, said in ((10, "忘记密码了"), (20, "转账限额多少")):  # round-robin: every other turn elsewhere
        elsewhere = asyncio.run(there.retrieve("customer-2"))
        a_turn(elsewhere, said, stamp)
        elsewhere.update(SlotSet("branch", f"第{stamp}号支行", timestamp=stamp + 0.3))
        asyncio.run(there.save(elsewhere))

        read = asyncio.run(here.retrieve("customer-2"))
        assert read is mine
        assert events_of(read) == events_of(elsewhere) == events_of(asyncio.run(SQLTrackerStore(DOMAIN, host=url)
                                                                                   .retrieve("customer-2")))
        assert read.latest_message.text == said and read.get_slot("branch") == f"第{stamp}号支行"
        a_turn(read, f"又问{stamp}", stamp + 5)
        asyncio.run(here.save(read))


def test_a_turn_that_failed_before_saving_leaves_no_trace(new_database) -> None:
    url = new_database()
    store = UrlSQLTrackerStore(DOMAIN, host=url)
    one_saved_session(store)
    saved = asyncio.run(store.retrieve("customer-2"))
    asyncio.run(store.save(saved))
    a_turn(saved, "这句没有存下来", 10)  # the turn raised before `save`
    read = asyncio.run(store.retrieve("customer-2"))
    assert read is not saved
    assert events_of(read) == events_of(asyncio.run(SQLTrackerStore(DOMAIN, host=url).retrieve("customer-2")))
    assert read.latest_message.text == "手机银行怎么转账"


def test_a_new_session_is_read_as_rasa_reads_it(new_database) -> None:
    url = new_database()
    store = UrlSQLTrackerStore(DOMAIN, host=url)
    a_conversation_in_two_sessions(store)
    read = asyncio.run(store.retrieve("customer-1"))
    assert [e.type_name for e in read.events] == ["session_started", "slot", "action", "user"]
    assert events_of(read) == events_of(asyncio.run(SQLTrackerStore(DOMAIN, host=url).retrieve("customer-1")))


def test_the_cache_keeps_only_the_latest_conversations(new_database, monkeypatch) -> None:
    monkeypatch.setenv("HELPLINE_TRACKER_CACHE", "2")
    store = UrlSQLTrackerStore(DOMAIN, host=new_database())
    trackers = {}
    for sender in ("a", "b", "c"):
        trackers[sender] = DialogueStateTracker.from_events(sender, [ActionExecuted("action_listen", timestamp=1)],
                                                            DOMAIN.slots)
        asyncio.run(store.save(trackers[sender]))
    assert asyncio.run(store.retrieve("a")) is not trackers["a"]
    assert asyncio.run(store.retrieve("c")) is trackers["c"]


def test_an_empty_conversation_is_not_handed_back_and_a_new_model_empties_the_cache(new_database) -> None:
    url = new_database()
    store = UrlSQLTrackerStore(DOMAIN, host=url)
    asyncio.run(store.save(DialogueStateTracker.from_events("nobody-yet", [], DOMAIN.slots)))
    assert asyncio.run(store.retrieve("nobody-yet")) is None  # as Rasa's own store answers

    one_saved_session(store)
    read = asyncio.run(store.retrieve("customer-2"))
    asyncio.run(store.save(read))
    store.domain = DOMAIN  # what Rasa does when it loads another model
    assert asyncio.run(store.retrieve("customer-2")) is not read
