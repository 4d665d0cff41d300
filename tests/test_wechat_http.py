"""The WeChat channel against a real Rasa server, answering within the 5-second window.

One stack for the module: the channel has a token, an EncodingAESKey (so
plaintext, compatible and safe-mode callbacks all work) and a long
`reply_timeout`, so every answer is passive however busy the machine is.
The fake WeChat API receives what the channel pushes later.
"""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from sqlalchemy import select

from bot.bank.db import transaction
from bot.bank.handoff import attachments
from bot.bank.handoff import escalations as handoff
from bot.bank.messaging import outbox
from bot.bank.models import Attachment
from bot.bank.staff.accounts import create_staff
from bot.channels.wechat import UNKNOWN_MENU, UNSUPPORTED_REPLY, VOICE_UNHEARD
from bot.channels.wechat_crypto import WeChatCipher, signature
from bot.clock import now
from bot.wording import text_of
from tests.bankdb import serve
from tests.conftest import PINNED_NOW
from tests.files import png
from tests.conversation import bank_rows
from tests.fake_wechat import FakeWeChatApi, WeChatClient, bot_texts, number_of, user_texts
from tests.stack import Stack
from tests.test_wechat_units import BILLION_LAUGHS, EXTERNAL_ENTITY

pytestmark = pytest.mark.server

TOKEN = "pengcheng-wechat-token"
APP_ID = "wx5823bf96d3bd56c7"
APP_SECRET = "fake-app-secret"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
HOURS_QUESTION = "福田支行今天几点开门"


@pytest.fixture(scope="module")
def fake_api():
    api = FakeWeChatApi(APP_ID, APP_SECRET).start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def wechat_stack(fake_api, tmp_path_factory):
    credentials = (
        "bot.channels.wechat.WeChatInput:\n"
        f"  token: {TOKEN}\n  app_id: {APP_ID}\n  app_secret: {APP_SECRET}\n"
        f"  encoding_aes_key: {AES_KEY}\n  api_base: {fake_api.base_url}\n  reply_timeout: 40\n"
    )
    running = Stack(workdir=tmp_path_factory.mktemp("wechat"), credentials_yaml=credentials,
                    env_extra={"HELPLINE_NOW": PINNED_NOW, "HELPLINE_OUTBOX_POLL": "0.2"}).start()
    yield running
    running.stop()


@pytest.fixture
def client(wechat_stack):
    return WeChatClient(f"{wechat_stack.rasa_url}/webhooks/wechat/webhook", TOKEN)


@pytest.fixture
def safe_client(wechat_stack):
    return WeChatClient(f"{wechat_stack.rasa_url}/webhooks/wechat/webhook", TOKEN,
                        cipher=WeChatCipher(AES_KEY, APP_ID))


@pytest.fixture
def openid():
    return f"o-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def stack_db(wechat_stack, monkeypatch):
    """Point this process's bank.db helpers at the stack's database."""
    monkeypatch.setenv("HELPLINE_DATA_DIR", str(wechat_stack.workdir))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("HELPLINE_NOW", PINNED_NOW)


def mentions_hours(text: str) -> bool:
    return "福田支行" in text and "09:00" in text


# --- server verification --------------------------------------------------------------


def test_verification_echoes_echostr_only_for_our_signature(client):
    params = {**client.signed_params(), "echostr": "3141592653"}
    assert requests.get(client.url, params=params, timeout=10).text == "3141592653"
    forged = {**params, "signature": signature("not-our-token", params["timestamp"], params["nonce"])}
    assert requests.get(client.url, params=forged, timeout=10).status_code == 403
    stale = {**client.signed_params(timestamp=int(time.time()) - 3600), "echostr": "3141592653"}
    assert requests.get(client.url, params=stale, timeout=10).status_code == 403


def test_safe_mode_verification_decrypts_echostr(safe_client):
    echostr = safe_client.cipher.encrypt("2718281828")
    params = {**safe_client.signed_params(body=echostr), "echostr": echostr}
    assert requests.get(safe_client.url, params=params, timeout=10).text == "2718281828"
    params["msg_signature"] = signature(TOKEN, params["timestamp"], params["nonce"], "other")
    assert requests.get(safe_client.url, params=params, timeout=10).status_code == 403


# --- messages ---------------------------------------------------------------------------


def test_a_text_question_gets_a_passive_reply(client, openid, wechat_stack):
    response = client.send(openid, Content=HOURS_QUESTION)
    reply = client.reply_fields(response)
    assert (reply["ToUserName"], reply["FromUserName"], reply["MsgType"]) == (openid, client.account, "text")
    assert mentions_hours(reply["Content"])
    assert user_texts(wechat_stack, openid) == [HOURS_QUESTION]
    channels = {event.get("input_channel") for event in wechat_stack.tracker(openid)["events"]
                if event["event"] == "user"}
    assert channels == {"wechat"}


def test_voice_uses_the_recognised_text(client, openid):
    response = client.send(openid, "voice", MediaId="m1", Format="amr", Recognition=HOURS_QUESTION + "。")
    assert mentions_hours(client.reply_fields(response)["Content"])


def test_voice_without_recognition_is_asked_again_kindly(client, openid, wechat_stack):
    response = client.send(openid, "voice", MediaId="m1", Format="amr")
    assert client.reply_fields(response)["Content"] == VOICE_UNHEARD
    assert user_texts(wechat_stack, openid) == []


def test_a_new_follower_is_welcomed_with_the_main_services(client, openid):
    welcome = client.reply_fields(client.send(openid, "event", Event="subscribe"))["Content"]
    assert "欢迎关注鹏城银行" in welcome and "400-830-9595" in welcome
    for service in ("营业时间", "预约", "手机银行", "调整每月扣款日", "人工客服"):
        assert service in welcome


def test_unsubscribe_gets_no_reply(client, openid, wechat_stack):
    response = client.send(openid, "event", Event="unsubscribe")
    assert response.text == "success"
    assert user_texts(wechat_stack, openid) == []


def test_a_menu_click_runs_its_intent(client, openid, wechat_stack):
    reply = client.reply_fields(client.send(openid, "event", Event="CLICK", EventKey="MENU_BOOKING"))["Content"]
    assert "回复数字即可选择" in reply and number_of(reply, "福田支行")
    assert user_texts(wechat_stack, openid) == ["/book_appointment"]
    unknown = client.send(openid, "event", Event="CLICK", EventKey="MENU_NOT_THERE")
    assert client.reply_fields(unknown)["Content"] == UNKNOWN_MENU


def test_a_photo_without_a_person_on_the_case_is_not_fetched_and_the_customer_is_told_how(client, openid,
                                                                                          wechat_stack):
    reply = client.reply_fields(client.send(openid, "image", PicUrl="http://mmbiz.qpic.cn/x.jpg", MediaId="m2"))
    assert reply["Content"] == text_of("utter_attachment_no_case") and "转人工" in reply["Content"]
    assert user_texts(wechat_stack, openid) == []


def test_a_photo_for_the_agent_is_kept_with_the_case_and_the_agents_photo_comes_back(client, openid, wechat_stack,
                                                                                       fake_api, stack_db):
    client.say(openid, "你好")
    paused = requests.post(f"{wechat_stack.rasa_url}/conversations/{openid}/tracker/events",
                           params={"token": wechat_stack.token}, json={"event": "pause"}, timeout=30)
    paused.raise_for_status()
    serve(handoff.open_escalation, openid, "wechat", "fraud", [])
    case = serve(handoff.open_for, openid)
    assert client.send(openid, "image", PicUrl="http://mmbiz.qpic.cn/x.jpg", MediaId="m-scam").text == "success"
    assert user_texts(wechat_stack, openid)[-1] == "[附件] 微信图片.png"
    with transaction() as session:
        [kept] = session.execute(select(Attachment).where(Attachment.escalation_id == case.id)).scalars().all()
        agent = create_staff(session, username=f"a-{openid}", display_name="李敏", role="agent",
                             password="wechat-agent-2026", when=now()).id
    assert serve(attachments.for_staff, kept.id, case.id).content == png()

    serve(handoff.claim, case.id, agent)
    serve(attachments.from_agent, case.id, agent, png(8, 8), "示意图")
    assert fake_api.wait_for_images(openid) == [f"MEDIA-{len(fake_api.uploads)}"]
    assert fake_api.uploads[-1] == png(8, 8)


@pytest.mark.parametrize(("msg_type", "fields"), [
    ("location", {"Location_X": "22.54", "Location_Y": "114.05", "Scale": "15", "Label": "福田"}),
    ("link", {"Title": "看看", "Description": "链接", "Url": "http://example.com"}),
])
def test_pictures_places_and_links_get_a_polite_reply(client, openid, wechat_stack, msg_type, fields):
    reply = client.reply_fields(client.send(openid, msg_type, **fields))["Content"]
    assert reply == UNSUPPORTED_REPLY and "语音" in reply   # voice is understood: say so
    assert user_texts(wechat_stack, openid) == []


# --- safe and compatible mode ------------------------------------------------------


def test_safe_mode_message_gets_an_encrypted_signed_reply(safe_client, openid, wechat_stack):
    response = safe_client.send(openid, Content=HOURS_QUESTION)
    assert "<Encrypt>" in response.text and HOURS_QUESTION not in response.text
    reply = safe_client.reply_fields(response)  # checks MsgSignature, decrypts with our app id
    assert reply["ToUserName"] == openid and mentions_hours(reply["Content"])
    assert user_texts(wechat_stack, openid) == [HOURS_QUESTION]


def test_compatible_mode_trusts_only_the_encrypted_copy(safe_client, openid, wechat_stack):
    inner = safe_client.message_xml(openid, "text", 42_000_001 + int(time.time()), Content=HOURS_QUESTION)
    encrypted = safe_client.cipher.encrypt(inner)
    body = inner.replace(HOURS_QUESTION, "你好").replace("</xml>", f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
    response = safe_client.post_raw(body, safe_client.signed_params(body=encrypted))
    assert mentions_hours(safe_client.reply_fields(response)["Content"])
    assert user_texts(wechat_stack, openid) == [HOURS_QUESTION]


# --- retries and bookings ---------------------------------------------------------------


def latest_code(stack: Stack) -> str:
    """The verification code the development SMS sender 'texted'."""
    return (stack.workdir / "dev_sms.log").read_text(encoding="utf-8").splitlines()[-1].split()[1]


def walk_to_confirmation(client: WeChatClient, stack: Stack, openid: str, phone: str) -> str:
    """Book Futian's 面签 for tomorrow by numbers, up to the 确认 question."""
    reply = client.say(openid, "我想预约去网点办业务")
    reply = client.say(openid, number_of(reply, "福田支行"))
    reply = client.say(openid, number_of(reply, "面签"))
    assert "哪一天" in reply
    reply = client.say(openid, "明天")
    assert "还有这些时段" in reply
    assert "手机" in client.say(openid, "1")
    assert "验证码已经发到" in client.say(openid, phone)
    reply = client.say(openid, latest_code(stack))
    assert "请确认" in reply and "9月29日" in reply
    return reply


def test_three_retries_of_a_confirmation_make_one_booking(client, openid, wechat_stack):
    phone = "13800138601"
    confirm = number_of(walk_to_confirmation(client, wechat_stack, openid, phone), "确认")
    msg_id = int(time.time() * 1000) + 7
    xml = client.message_xml(openid, "text", msg_id, Content=confirm)
    with ThreadPoolExecutor(max_workers=3) as pool:  # WeChat retrying while the first is still running
        first = pool.submit(client.post, xml)
        time.sleep(0.3)
        retries = [pool.submit(client.post, xml) for _ in range(2)]
        answers = [first.result()] + [retry.result() for retry in retries]
    answers.append(client.post(xml))  # and once more after the answer was given
    contents = [client.reply_fields(answer)["Content"] for answer in answers]
    assert "预约成功" in contents[0] and len(set(contents)) == 1
    rows = bank_rows(wechat_stack, "SELECT b.channel FROM bookings b JOIN customers c ON c.id = b.customer_id "
                                   "WHERE c.phone = ?", phone)
    assert rows == [("wechat",)]
    assert user_texts(wechat_stack, openid).count("/affirm") == 1


def test_a_retried_event_is_answered_the_same_without_rasa(client, openid, wechat_stack):
    xml = client.message_xml(openid, "event", Event="CLICK", EventKey="MENU_HOURS")
    first, retry = client.reply_fields(client.post(xml)), client.reply_fields(client.post(xml))
    assert first["Content"] == retry["Content"]
    assert user_texts(wechat_stack, openid) == ["/ask_opening_hours"]


# --- pushes: agent replies, hand-off -------------------------------------------------


def test_an_agent_message_with_buttons_is_pushed_and_its_numbers_work(client, openid, wechat_stack, fake_api,
                                                                      stack_db):
    with transaction() as session:
        outbox.queue(session, "wechat", openid, "agent_message", [
            {"text": "还需要别的帮助吗？", "metadata": {"agent": "王客服"},
             "buttons": [{"title": "查营业时间", "payload": "/ask_opening_hours"},
                         {"title": "预约办理", "payload": "/book_appointment"}]}], at=now())
    pushed = fake_api.wait_for_texts(openid)
    assert pushed == ["还需要别的帮助吗？\n回复数字即可选择：\n1. 查营业时间\n2. 预约办理"]
    assert "还需要别的帮助吗？" in bot_texts(wechat_stack, openid)  # the transcript has it too
    assert number_of(client.say(openid, "2"), "福田支行")
    assert user_texts(wechat_stack, openid) == ["/book_appointment"]


def test_while_an_agent_has_the_conversation_the_bot_stays_silent(client, openid, wechat_stack, fake_api, stack_db):
    client.say(openid, "你好")
    paused = requests.post(f"{wechat_stack.rasa_url}/conversations/{openid}/tracker/events",
                           params={"token": wechat_stack.token}, json={"event": "pause"}, timeout=30)
    paused.raise_for_status()
    assert client.send(openid, Content=HOURS_QUESTION).text == "success"
    with transaction() as session:
        outbox.queue(session, "wechat", openid, "handoff_closed",
                     [{"custom": {"handoff": "closed"}}, {"text": "李客服已结束本次服务，祝您生活愉快！"}], at=now(), resume=True)
    assert fake_api.wait_for_texts(openid) == ["李客服已结束本次服务，祝您生活愉快！"]
    deadline = time.monotonic() + 30  # the resume is recorded before the push, but give the store a moment
    while wechat_stack.tracker(openid).get("paused") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert mentions_hours(client.say(openid, HOURS_QUESTION))


# --- refused requests never reach Rasa -------------------------------------------------


def test_forged_stale_and_hostile_callbacks_are_refused(client, safe_client, openid, wechat_stack):
    good = client.message_xml(openid, "text", 1, Content=HOURS_QUESTION)
    forged = {**client.signed_params(), "signature": "0" * 40}
    assert client.post_raw(good, forged).status_code == 403
    assert client.post_raw(good, client.signed_params(timestamp=int(time.time()) - 400)).status_code == 403
    assert client.post_raw(good, client.signed_params(timestamp=int(time.time()) + 400)).status_code == 403
    sender = f"<xml><FromUserName><![CDATA[{openid}]]></FromUserName>"
    for body in (BILLION_LAUGHS.replace("<xml>", sender), EXTERNAL_ENTITY.replace("<xml>", sender),
                 good[:-4], "just text", good.replace("<xml>", "<html>").replace("</xml>", "</html>"),
                 good.replace(f"<FromUserName><![CDATA[{openid}]]></FromUserName>", "")):
        assert client.post_raw(body, client.signed_params()).status_code == 400, body[:80]
    assert user_texts(wechat_stack, openid) == []


def test_bad_safe_mode_callbacks_are_refused(safe_client, openid, wechat_stack):
    inner = safe_client.message_xml(openid, "text", 2, Content=HOURS_QUESTION)
    envelope = "<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[{}]]></Encrypt></xml>"
    ours = safe_client.cipher.encrypt(inner)
    wrong_signature = {**safe_client.signed_params(body=ours), "msg_signature": "0" * 40}
    assert safe_client.post_raw(envelope.format(ours), wrong_signature).status_code == 403
    other_app = WeChatCipher(AES_KEY, "wx0000000000000000").encrypt(inner)
    foreign = safe_client.post_raw(envelope.format(other_app), safe_client.signed_params(body=other_app))
    assert foreign.status_code == 403
    bomb = safe_client.cipher.encrypt(BILLION_LAUGHS)
    assert safe_client.post_raw(envelope.format(bomb), safe_client.signed_params(body=bomb)).status_code == 400
    assert user_texts(wechat_stack, openid) == []
