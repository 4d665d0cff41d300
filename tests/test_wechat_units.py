"""The WeChat channel's parts without a Rasa server: crypto, XML, rendering, token cache, stores."""
from __future__ import annotations

import asyncio
import base64
import uuid

import pytest

from bot.channels import wechat_xml
from bot.channels.dedup import DatabaseStore, RedisStore
from bot.channels.wechat import Inbound, WeChatConfig, chosen_number
from bot.channels.wechat_api import LocalTokenCache, RedisTokenCache, WeChatApi, WeChatApiError
from bot.channels.wechat_crypto import CryptoError, WeChatCipher, signature, signature_matches
from tests.fake_wechat import FakeWeChatApi
from tests.redis_service import REDIS_URL, redis_available

# Tencent's published WXBizMsgCrypt sample (企业微信《加解密方案说明》, the same scheme
# as the official account's safe mode), as reproduced in many SDKs' test suites.
SAMPLE_TOKEN = "QDG6eK"
SAMPLE_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
SAMPLE_APP_ID = "wx5823bf96d3bd56c7"
SAMPLE_TIMESTAMP, SAMPLE_NONCE = "1409659813", "1372623149"
SAMPLE_MSG_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
SAMPLE_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/s"
    "YYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJ"
    "YuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGU"
    "callcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KD"
    "YA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
SAMPLE_PLAINTEXT = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    "<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    "<CreateTime>1409659813</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[hello]]></Content>\n"
    "<MsgId>4561255354251345929</MsgId>\n"
    "<AgentID>218</AgentID>\n"
    "</xml>"
)
# The sample's URL check: msg_signature and encrypted echostr of a GET.
SAMPLE_ECHO = ("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780",
               "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==")

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<xml><Content>&lol3;</Content></xml>"
)
EXTERNAL_ENTITY = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                   "<xml><Content>&xxe;</Content></xml>")


# --- crypto ---------------------------------------------------------------------------


def test_tencent_sample_decrypts_to_its_published_plaintext():
    assert signature(SAMPLE_TOKEN, SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT) == SAMPLE_MSG_SIGNATURE
    assert WeChatCipher(SAMPLE_KEY, SAMPLE_APP_ID).decrypt(SAMPLE_ENCRYPT) == SAMPLE_PLAINTEXT


def test_tencent_sample_url_check_signature_and_echo():
    msg_signature, timestamp, nonce, echostr = SAMPLE_ECHO
    assert signature_matches(msg_signature, SAMPLE_TOKEN, timestamp, nonce, echostr)
    assert WeChatCipher(SAMPLE_KEY, SAMPLE_APP_ID).decrypt(echostr) == "1616140317555161061"


def test_encrypt_then_decrypt_round_trip_with_chinese_and_fresh_randomness():
    cipher = WeChatCipher(SAMPLE_KEY, SAMPLE_APP_ID)
    message = "<xml><Content><![CDATA[福田支行今天几点开门？]]></Content></xml>"
    first, second = cipher.encrypt(message), cipher.encrypt(message)
    assert first != second  # 16 random bytes in front of every message
    assert cipher.decrypt(first) == cipher.decrypt(second) == message


def test_a_message_for_another_app_id_or_tampered_is_refused():
    ours = WeChatCipher(SAMPLE_KEY, SAMPLE_APP_ID)
    with pytest.raises(CryptoError):
        WeChatCipher(SAMPLE_KEY, "wx0000000000000000").decrypt(ours.encrypt("hello"))
    tampered = ours.encrypt("hello")
    tampered = ("A" if tampered[0] != "A" else "B") + tampered[1:]
    for bad in (tampered, "not base64!", "", "AAAA"):
        with pytest.raises(CryptoError):
            ours.decrypt(bad)


def test_padding_is_to_32_byte_blocks():
    cipher = WeChatCipher(SAMPLE_KEY, SAMPLE_APP_ID)
    for length in range(0, 70):
        assert len(base64.b64decode(cipher.encrypt("x" * length))) % 32 == 0


def test_signature_is_sha1_of_sorted_parts_and_forgeries_fail():
    assert signature("b", "a", "c") == signature("c", "b", "a")
    assert signature_matches(signature("t", "1", "n"), "t", "1", "n")
    assert not signature_matches(signature("t", "1", "n"), "t", "2", "n")
    assert not signature_matches("", "t", "1", "n")


def test_a_bad_encoding_aes_key_is_rejected_at_start():
    with pytest.raises(CryptoError):
        WeChatCipher("too-short", SAMPLE_APP_ID)


# --- XML ------------------------------------------------------------------------------


def test_parse_reads_a_callback():
    fields = wechat_xml.parse(SAMPLE_PLAINTEXT.encode())
    assert fields["FromUserName"] == "mycreate" and fields["Content"] == "hello"


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, "<xml><Content>unclosed</xml>", "not xml",
                                  "", "<html><Content>x</Content></html>", "<xml>" + "a" * 70000 + "</xml>"],
                         ids=["billion-laughs", "external-entity", "malformed", "text", "empty", "wrong-root",
                              "too-large"])
def test_hostile_or_broken_bodies_are_refused(body):
    with pytest.raises(wechat_xml.BadXml):
        wechat_xml.parse(body.encode())


def test_reply_survives_cdata_terminators_and_round_trips():
    reply = wechat_xml.text_reply("o-user", "gh_bank", "a ]]> b <c>")
    fields = wechat_xml.parse(reply.encode())
    assert fields["Content"] == "a ]]> b <c>" and fields["ToUserName"] == "o-user"


def test_buttons_become_one_numbered_list_across_messages():
    parts, buttons = wechat_xml.render([
        {"text": "想约哪个网点？", "buttons": [{"title": "福田支行", "payload": "/a"}, {"title": "罗湖支行", "payload": "/b"}]},
        {"custom": {"handoff": "joined"}},
        {"custom": {"text": "也可以选："}, "buttons": [{"title": "转人工", "payload": "/request_human"}]},
    ])
    assert parts == ["想约哪个网点？\n回复数字即可选择：\n1. 福田支行\n2. 罗湖支行", "也可以选：\n回复数字即可选择：\n3. 转人工"]
    assert [button["payload"] for button in buttons] == ["/a", "/b", "/request_human"]


def test_long_replies_are_packed_and_split_within_2048_bytes():
    parts = ["第一段", "长" * 1000, "尾声"]
    first, rest = wechat_xml.pack(parts)
    assert first.startswith("第一段") and len(first.encode()) <= 2048
    assert all(len(piece.encode()) <= 2048 for piece in rest)
    assert "".join([first.replace("\n\n", "")] + rest) == "".join(parts)


@pytest.mark.parametrize(("text", "expected"), [("2", 2), (" ２ ", 2), ("1.", 1), ("4", None), ("0", None),
                                                ("13800138000", None), ("二", None), ("2号", None)])
def test_bare_number_choices(text, expected):
    assert chosen_number(text, 3) == expected


def test_retry_keys_tell_a_retry_from_a_second_click_in_the_same_second():
    click = {"ToUserName": "gh_bank", "FromUserName": "o-user", "CreateTime": "1790000000", "MsgType": "event",
             "Event": "CLICK", "EventKey": "MENU_BOOKING"}
    retry = Inbound(dict(click), sealed=False)
    assert Inbound(click, sealed=False).key == retry.key
    assert Inbound({**click, "EventKey": "MENU_HOURS"}, sealed=False).key != retry.key
    text = {**click, "MsgType": "text", "MsgId": "6054768590064713728"}
    assert Inbound(text, sealed=False).key == "wechat:msg:gh_bank:6054768590064713728"
    longest = {**click, **{name: "x" * 48 for name in ("ToUserName", "FromUserName", "CreateTime")}}
    assert len(Inbound(longest, sealed=False).key) <= 200  # the store's key column


def test_credentials_come_from_credentials_yml_with_the_settings_defaults(monkeypatch):
    """credentials.yml names each value as ${WECHAT_*}; unset ones take bot/settings.py's defaults."""
    from rasa.shared.utils.io import read_config_file

    from bot.settings import ROOT, export_defaults

    monkeypatch.setenv("WECHAT_TOKEN", "from-env")
    for name in ("WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHAT_ENCODING_AES_KEY", "WECHAT_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    export_defaults()
    channel = read_config_file(str(ROOT / "credentials.yml"))["bot.channels.wechat.WeChatInput"]
    config = WeChatConfig.from_credentials(channel)
    assert (config.token, config.app_id, config.api_base, config.reply_timeout) == (
        "from-env", "", "https://api.weixin.qq.com", 4.0)
    assert WeChatConfig.from_credentials({"reply_timeout": 0}).reply_timeout == 0.0


# --- access token cache against the fake API ------------------------------------------


@pytest.fixture(scope="module")
def fake_api():
    api = FakeWeChatApi("wx-test", "secret", token_delay=0.2).start()
    yield api
    api.stop()


async def test_many_concurrent_sends_fetch_one_token(fake_api):
    client = WeChatApi("wx-test", "secret", fake_api.base_url)
    before = fake_api.token_fetches
    openid = f"o-{uuid.uuid4().hex[:8]}"
    await asyncio.gather(*(client.send_text(openid, f"消息{i}") for i in range(20)))
    await client.close()
    assert fake_api.token_fetches == before + 1
    assert sorted(fake_api.texts_to(openid)) == sorted(f"消息{i}" for i in range(20))


async def test_an_expired_token_is_refreshed_and_the_send_retried_once(fake_api):
    client = WeChatApi("wx-test", "secret", fake_api.base_url)
    openid = f"o-{uuid.uuid4().hex[:8]}"
    await client.send_text(openid, "一")
    fetches = fake_api.token_fetches
    fake_api.expire_next_send()
    await client.send_text(openid, "二")
    assert fake_api.token_fetches == fetches + 1
    fake_api.expire_next_send(2)  # still expired after the refresh: give up, let the outbox retry
    with pytest.raises(WeChatApiError):
        await client.send_text(openid, "三")
    await client.close()
    assert fake_api.texts_to(openid) == ["一", "二"]


async def test_wrong_app_secret_raises(fake_api):
    client = WeChatApi("wx-test", "wrong", fake_api.base_url)
    with pytest.raises(WeChatApiError):
        await client.send_text("o-x", "hi")
    await client.close()


# --- retry stores ---------------------------------------------------------------------


async def _first_one_wins(store) -> None:
    key = f"test:{uuid.uuid4().hex}"
    results = await asyncio.gather(*(store.add(key, {"n": i}, 60) for i in range(5)))
    assert sum(result is None for result in results) == 1
    winner = next(i for i, result in enumerate(results) if result is None)
    assert all(result == {"n": winner} for result in results if result is not None)
    await store.put(key, {"state": "replied"}, 60)
    assert await store.get(key) == {"state": "replied"}
    await store.forget(key)
    assert await store.get(key) is None
    await store.add(key, {"old": True}, 0.01)
    await asyncio.sleep(0.05)
    assert await store.add(key, {"new": True}, 60) is None  # an expired entry does not block
    await store.forget(key)


async def test_database_store(bank_db):
    await _first_one_wins(DatabaseStore())


async def test_redis_store():
    store = RedisStore("redis://localhost:6379/0", prefix="helpline-test:")
    try:
        await store.redis.ping()
    except Exception as error:  # pragma: no cover - depends on the machine
        pytest.skip(f"no Redis on localhost:6379: {error}")
    await _first_one_wins(store)
    await store.redis.close()


# --- one token for every server ----------------------------------------------------------------

async def test_servers_keep_each_others_token_valid_with_stable_token(fake_api):
    """Without Redis each server fetches once, but from stable_token: a second server's fetch
    does not invalidate the first one's token, so no send needs a retry."""
    first = WeChatApi("wx-test", "secret", fake_api.base_url, cache=LocalTokenCache())
    second = WeChatApi("wx-test", "secret", fake_api.base_url, cache=LocalTokenCache())
    openid = f"o-{uuid.uuid4().hex[:8]}"
    before = fake_api.token_fetches
    await first.send_text(openid, "一")
    await second.send_text(openid, "二")
    await first.send_text(openid, "三")
    await first.close()
    await second.close()
    assert fake_api.token_fetches == before + 2 and fake_api.texts_to(openid) == ["一", "二", "三"]
    assert len({sent.access_token for sent in fake_api.sent if sent.touser == openid}) == 1


@pytest.mark.skipif(not redis_available(), reason="needs Redis on localhost:6379 (.ci/run starts it)")
async def test_servers_share_one_token_through_redis(fake_api):
    prefix = f"test-token-{uuid.uuid4().hex[:8]}:"
    servers = [WeChatApi("wx-test", "secret", fake_api.base_url, cache=RedisTokenCache(REDIS_URL, prefix))
               for _ in range(2)]
    openid = f"o-{uuid.uuid4().hex[:8]}"
    before = fake_api.token_fetches
    await servers[0].send_text(openid, "第一台")
    await asyncio.gather(*(servers[1].send_text(openid, f"消息{i}") for i in range(3)))
    assert fake_api.token_fetches == before + 1          # the second server read the first one's token
    fake_api.expire_next_send()                          # WeChat rejects it: dropped for both, fetched once
    await servers[1].send_text(openid, "刷新后")
    await servers[0].send_text(openid, "另一台")
    for server in servers:
        await server.close()
    assert fake_api.token_fetches == before + 2 and fake_api.texts_to(openid)[-2:] == ["刷新后", "另一台"]
