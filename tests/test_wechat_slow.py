"""The WeChat channel when Rasa misses the 5-second window, and when it has no token.

One stack for the module: `reply_timeout` is 0, so every Rasa answer is
too late for the passive reply and must arrive through the fake's customer
service endpoint. A second channel class without a token shares the server
to show that it refuses everything and says why once.
"""
from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.conftest import PINNED_NOW
from tests.fake_wechat import FakeWeChatApi, WeChatClient, bot_texts, number_of, user_texts
from tests.stack import Stack

pytestmark = pytest.mark.server

TOKEN = "slow-token"
APP_ID = "wx-slow-app"
APP_SECRET = "slow-secret"
HOURS_QUESTION = "福田支行今天几点开门"


@pytest.fixture(scope="module")
def fake_api():
    api = FakeWeChatApi(APP_ID, APP_SECRET).start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def slow_stack(fake_api, tmp_path_factory):
    credentials = (
        "bot.channels.wechat.WeChatInput:\n"
        f"  token: {TOKEN}\n  app_id: {APP_ID}\n  app_secret: {APP_SECRET}\n"
        f"  api_base: {fake_api.base_url}\n  reply_timeout: 0\n"
        "tests.fake_wechat.UnconfiguredWeChatInput:\n"
    )
    unset = {name: "" for name in ("WECHAT_TOKEN", "WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_ENCODING_AES_KEY")}
    running = Stack(workdir=tmp_path_factory.mktemp("wechat-slow"), credentials_yaml=credentials,
                    env_extra={"HELPLINE_NOW": PINNED_NOW, "HELPLINE_OUTBOX_POLL": "0.2", **unset}).start()
    yield running
    running.stop()


@pytest.fixture
def client(slow_stack):
    return WeChatClient(f"{slow_stack.rasa_url}/webhooks/wechat/webhook", TOKEN)


@pytest.fixture
def openid():
    return f"o-{uuid.uuid4().hex[:12]}"


def settle(fake_api: FakeWeChatApi, openid: str, seconds: float = 3) -> list:
    """What reached `openid` once nothing new has arrived for `seconds`."""
    texts = fake_api.wait_for_texts(openid)
    while True:
        time.sleep(seconds)
        if fake_api.texts_to(openid) == texts:
            return texts
        texts = fake_api.texts_to(openid)


def once_each(pushed: list, recorded: list) -> bool:
    """Every answer reached the customer once and is in the tracker once (the outbox did not record it again)."""
    return (len(set(pushed)) == len(pushed) and len(set(recorded)) == len(recorded)
            and all(text in "\n\n".join(pushed) for text in recorded))


def test_a_slow_answer_says_success_then_arrives_by_customer_service_api(client, openid, slow_stack, fake_api):
    assert client.send(openid, Content=HOURS_QUESTION).text == "success"
    pushed = settle(fake_api, openid)
    assert any("福田支行" in text and "09:00" in text for text in pushed)
    assert once_each(pushed, bot_texts(slow_stack, openid))  # recorded in the tracker once, not twice


def test_a_retry_of_a_slow_message_is_not_a_second_message(client, openid, slow_stack, fake_api):
    xml = client.message_xml(openid, "text", int(time.time() * 1000) + 3, Content=HOURS_QUESTION)
    assert [client.post(xml).text for _ in range(3)] == ["success"] * 3
    assert client.post(xml).text == "success"
    pushed = settle(fake_api, openid)
    assert user_texts(slow_stack, openid) == [HOURS_QUESTION]
    assert once_each(pushed, bot_texts(slow_stack, openid))


def test_numbers_answer_buttons_that_came_by_push(client, openid, slow_stack, fake_api):
    assert client.say(openid, "我想预约去网点办业务") == ""
    choices = settle(fake_api, openid)[-1]
    assert client.say(openid, number_of(choices, "福田支行")) == ""
    settle(fake_api, openid)
    heard = user_texts(slow_stack, openid)[-1]
    assert heard.startswith("/inform") and "福田支行" in heard


def test_one_token_serves_every_push_and_an_expired_one_is_replaced(client, openid, fake_api):
    assert client.say(openid, "你好") == ""
    settle(fake_api, openid)
    assert fake_api.token_fetches == 1
    sent = len(fake_api.texts_to(openid))
    fake_api.expire_next_send()
    assert client.say(openid, HOURS_QUESTION) == ""
    assert len(settle(fake_api, openid)) > sent
    assert fake_api.token_fetches == 2


def test_a_channel_without_token_refuses_everything_and_says_why_once(slow_stack, openid):
    unconfigured = WeChatClient(f"{slow_stack.rasa_url}/webhooks/wechat_unconfigured/webhook", token="")
    params = {**unconfigured.signed_params(), "echostr": "123"}
    assert requests.get(unconfigured.url, params=params, timeout=10).status_code == 403
    for _ in range(3):
        assert unconfigured.send(openid, Content=HOURS_QUESTION).status_code == 403
    assert user_texts(slow_stack, openid) == []
    log = slow_stack.log("rasa.log")
    assert log.count("no token") == 1 and "/webhooks/wechat_unconfigured/webhook is refused" in log
