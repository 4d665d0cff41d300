"""The widget channel's message shapes and the demo page, without servers."""
from __future__ import annotations

import asyncio

import jwt
import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from bot.bank.messaging.outbox import OutboxItem
from bot.channels import widget
from bot.channels.widget import WidgetInput, history_messages, pushed_messages, widget_message
from bot.desk.app import PAGE_MODULES, create_app
from bot.desk.pages import widget_demo
from tests.stack import ROOT

MENU = [{"title": "查网点营业时间", "payload": "/ask_opening_hours"}]


def test_a_bot_message_keeps_what_the_widget_shows():
    message = {"text": "您好", "buttons": MENU, "image": None, "utter_action": "utter_greet", "timestamp": 1.0}
    assert widget_message(message) == {"text": "您好", "buttons": MENU}


def test_quick_replies_become_buttons_and_agents_are_named():
    quick = [{"content_type": "text", **MENU[0]}]
    assert widget_message({"text": "请选择", "quick_replies": quick})["buttons"] == MENU
    assert widget_message({"text": "您好", "agent": "王**"}) == {"text": "您好", "agent": "王**"}


def test_history_shows_button_titles_and_agent_messages_in_order():
    events = [
        UserUttered("/ask_opening_hours", metadata={"display": "查网点营业时间"}),
        ActionExecuted("utter_ask_branch"),
        BotUttered("您想查哪个网点？", data={"buttons": MENU}),
        BotUttered(None, data={"custom": {"handoff": "joined", "agent": "王**"}},
                   metadata={"outbox_kind": "handoff_joined"}),
        BotUttered("您好，我是客服小王", metadata={"outbox_kind": "agent_message", "agent": "王**"}),
        UserUttered("谢谢"),
    ]
    assert history_messages(events) == [
        {"from": "user", "text": "查网点营业时间"},
        {"from": "bot", "text": "您想查哪个网点？", "buttons": MENU},
        {"from": "bot", "custom": {"handoff": "joined", "agent": "王**"}},
        {"from": "bot", "text": "您好，我是客服小王", "agent": "王**"},
        {"from": "user", "text": "谢谢"},
    ]


def test_each_pushed_message_has_its_own_id_and_agent():
    item = OutboxItem(id=7, channel="widget", recipient_id="a" * 32, kind="agent_message", resume=False,
                      recorded=True, messages=[{"text": "您好", "metadata": {"agent": "王**"}},
                                               {"image": "https://bank.example/map.png"}])
    assert pushed_messages(item) == [{"id": "7:0", "text": "您好", "agent": "王**"},
                                     {"id": "7:1", "image": "https://bank.example/map.png"}]


@pytest.mark.parametrize("asked", [None, "", "abc", "A" * 32, "0" * 31, "../" + "0" * 29, 12345, "x" * 20])
def test_a_malformed_session_id_gets_a_fresh_one(asked):
    session_id = WidgetInput(session_persistence=True)._session_id({"session_id": asked})
    assert widget.SESSION_ID.fullmatch(session_id) and session_id != asked


def test_a_stored_session_id_is_kept_only_with_persistence():
    stored = "0123456789abcdef" * 2
    assert WidgetInput(session_persistence=True)._session_id({"session_id": stored}) == stored
    assert WidgetInput(session_persistence=False)._session_id({"session_id": stored}) != stored


@pytest.mark.parametrize("sent, kept", [({"display": "查网点营业时间"}, {"display": "查网点营业时间"}),
                                        ('{"display": "查网点营业时间"}', {"display": "查网点营业时间"}),
                                        ("not json", {}), (["a list"], {}), (None, {})])
def test_message_metadata_is_an_object_or_nothing(sent, kept):
    assert WidgetInput()._metadata({"message": "hi", "metadata": sent}) == kept


def test_enter_room_works_sync_and_as_a_coroutine():
    joined = []

    async def coroutine_enter_room():  # python-socketio >= 5.10
        joined.append("async")

    async def both():
        await widget._maybe_await(joined.append("sync"))  # python-socketio 5.8
        await widget._maybe_await(coroutine_enter_room())

    asyncio.run(both())
    assert joined == ["sync", "async"]


def test_with_a_jwt_key_only_a_signed_token_may_connect():
    key = "the bank's widget signing key, 32+ bytes"
    channel = WidgetInput(jwt_key=key, jwt_method="HS256")
    assert channel._authorised({"token": jwt.encode({"sub": "page"}, key, algorithm="HS256")})
    assert not channel._authorised({"token": jwt.encode({"sub": "page"}, "x" + key, algorithm="HS256")})
    assert not channel._authorised(None)
    assert WidgetInput()._authorised(None)


def test_the_project_credentials_configure_the_widget():
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text(encoding="utf-8"))
    assert credentials["bot.channels.widget.WidgetInput"] == {
        "user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered",
        "session_persistence": True, "socketio_path": "/socket.io"}


def test_the_channel_is_named_widget():
    assert WidgetInput.name() == "widget" and widget.WidgetOutput.name() == "widget"


# --- the demo page -------------------------------------------------------------------

@pytest.fixture
async def demo_client(monkeypatch):
    monkeypatch.setenv("WIDGET_SERVER_URL", "https://chat.pcbank.example")
    client = TestClient(TestServer(create_app((*PAGE_MODULES, widget_demo))))
    await client.start_server()
    yield client
    await client.close()


async def test_the_demo_page_loads_the_widget_from_the_configured_server(demo_client):
    page = await (await demo_client.get("/")).text()
    assert '<script src="/widget.js" data-server="https://chat.pcbank.example"' in page
    assert "鹏城银行" in page and "福田支行" in page


async def test_the_bundle_is_served_with_a_cache_policy(demo_client, tmp_path, monkeypatch):
    bundle = tmp_path / "widget.js"
    bundle.write_text("console.log('widget')", encoding="utf-8")
    monkeypatch.setattr(widget_demo, "WIDGET_JS", bundle)
    response = await demo_client.get("/widget.js")
    assert response.status == 200 and await response.text() == "console.log('widget')"
    assert response.headers["Cache-Control"] == widget_demo.CACHE_CONTROL
    assert response.headers["Content-Type"].startswith("text/javascript")


async def test_a_missing_bundle_says_how_to_build_it(demo_client, tmp_path, monkeypatch):
    monkeypatch.setattr(widget_demo, "WIDGET_JS", tmp_path / "absent.js")
    response = await demo_client.get("/widget.js")
    assert response.status == 404 and "make widget" in await response.text()


def test_the_rasa_server_takes_websocket_messages_as_large_as_a_photo_event():
    """Sanic reads SANIC_WEBSOCKET_MAX_SIZE when the app is made (bot.serving exports the default);
    its own default, 1 MiB, would drop the socket of a customer sending a phone's photo."""
    from bot.channels.widget import MAX_EVENT_BYTES
    from bot.settings import settings

    assert int(settings().websocket_max_size) >= MAX_EVENT_BYTES
