"""Photos and PDFs in a hand-off (bot.bank.handoff.attachments): what is accepted, masked names,
only with an open case, the agent's file queued to the customer, expiry; and WeChat's side
(bot.channels.wechat): a customer's photo fetched through the media API and passed to Rasa,
an agent's photo uploaded and sent as an image, a PDF sent as a link."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, List

import pytest
from sqlalchemy import select

from bot.bank.db import transaction
from bot.bank.handoff import attachments
from bot.bank.handoff import escalations as handoff
from bot.bank.models import Attachment
from bot.bank.refusals import Refusal
from bot.channels import delivery
from bot.channels.wechat import Inbound, WeChatConfig, WeChatInput, WeChatPusher
from bot.wording import text_of
from tests.bankdb import serve
from tests.files import PDF, png
from tests.test_handoff_live import claimed, opened
from tests.test_handoff_service import NOW, add_agent, escalation, outbox_rows

@pytest.fixture
def agent(bank_db) -> int:
    return add_agent("李敏", "limin")


def refusal_code(func, *args, **kwargs) -> str:
    with pytest.raises(Refusal) as refused:
        serve(func, *args, **kwargs)
    return refused.value.code


def test_only_photos_and_pdfs_found_by_their_bytes_are_kept_with_numbers_in_names_masked(agent):
    case = opened("c1")
    sent = serve(attachments.from_customer, "c1", png(), "C:\\照片\\身份证440301199001011234.exe", at=NOW)
    assert sent.name == "身份证**************1234.png" and sent.content_type == "image/png"
    assert serve(attachments.from_customer, "c1", PDF, "流水", at=NOW).name == "流水.pdf"
    assert refusal_code(attachments.from_customer, "c1", b"MZ\x90\x00 a program", "statement.pdf", at=NOW) \
        == "attachment_type"
    assert refusal_code(attachments.from_customer, "c1", b"", "empty.png", at=NOW) == "attachment_empty"
    too_big = png() + b"\x00" * attachments.MAX_BYTES
    assert refusal_code(attachments.from_customer, "c1", too_big, "big.png", at=NOW) == "attachment_too_large"
    found = serve(attachments.for_staff, sent.id, case.id, at=NOW)
    assert found.content == png() and found.content_type == "image/png"
    assert refusal_code(attachments.for_staff, sent.id, case.id + 1, at=NOW) == "not_found"   # only as its own case's
    spoofed = serve(attachments.from_customer, "c1", PDF, "report\u202efdp.exe\u200b", at=NOW)
    assert spoofed.name == "report fdp.pdf"
    assert "**************1234" in escalation(serve(handoff.queue)[0].reference).search_text


def test_a_customer_without_an_open_case_is_told_to_ask_for_a_person(bank_db):
    with pytest.raises(Refusal) as refused:
        serve(attachments.from_customer, "nobody", png(), "scam.png", at=NOW)
    assert attachments.customer_refusal(refused.value) == text_of("utter_attachment_no_case")
    assert "转人工" in attachments.customer_refusal(refused.value)


def test_an_agents_file_reaches_the_customer_signed_and_counts_as_the_first_reply(agent):
    case = claimed("c1", agent)
    sent = serve(attachments.from_agent, case.id, agent, PDF, "还款计划13800138000", at=NOW)
    assert sent.name == "还款计划*******8000.pdf"
    [message] = outbox_rows("c1")[-1].payload["messages"]
    assert message["text"] == text_of("utter_agent_sent_file", file_name=sent.name)
    assert message["metadata"] == {"agent": "李客服", "file": sent.as_metadata()}
    assert escalation(case.reference).first_reply_at is not None
    assert serve(attachments.for_customer, sent.token, at=NOW).content == PDF
    colleague = add_agent("周杰", "zhou")
    assert refusal_code(attachments.from_agent, case.id, colleague, PDF, "x", at=NOW) == "not_yours"


def test_a_case_takes_a_bounded_number_of_files_and_a_refused_message_takes_its_file_back(agent, monkeypatch):
    opened("c1")
    monkeypatch.setattr(attachments, "MAX_FILES_PER_CASE", 2)
    first = serve(attachments.from_customer, "c1", png(), "1", at=NOW)
    serve(attachments.from_customer, "c1", png(), "2", at=NOW)
    assert refusal_code(attachments.from_customer, "c1", png(), "3", at=NOW) == "attachment_quota"
    with pytest.raises(Refusal) as refused:
        serve(attachments.from_customer, "c1", png(), "3", at=NOW)
    assert attachments.customer_refusal(refused.value) == text_of("utter_attachment_quota")
    serve(attachments.withdraw, first.id)
    serve(attachments.from_customer, "c1", png(), "3", at=NOW)


def test_files_expire_after_the_banks_retention_and_the_record_stays(agent, monkeypatch):
    case = opened("c1")
    sent = serve(attachments.from_customer, "c1", png(), "scam.png", at=NOW)
    later = NOW + timedelta(days=30)
    assert refusal_code(attachments.for_staff, sent.id, case.id, at=later) == "gone"
    assert serve(attachments.purge_expired, at=NOW) == 0
    assert serve(attachments.purge_expired, at=later) == 1
    with transaction() as session:
        row = session.execute(select(Attachment)).scalar_one()
        assert row.content is None and row.file_name == "scam.png" and row.size == len(png())
    assert refusal_code(attachments.for_customer, sent.token, at=NOW) == "gone"
    assert refusal_code(attachments.for_customer, "0" * 32, at=NOW) == "not_found"

    monkeypatch.setenv("HELPLINE_ATTACHMENT_DAYS", "7")
    from bot.settings import reload
    reload()
    kept = serve(attachments.from_customer, "c1", png(), "again.png", at=NOW)
    assert refusal_code(attachments.for_staff, kept.id, case.id, at=NOW + timedelta(days=7)) == "gone"
    assert delivery.purge_attachments() == 0   # the servers' job runs at the bank's clock: nothing due yet


# --- WeChat -------------------------------------------------------------------------------

class FakeMediaApi:
    """The parts of bot.channels.wechat_api.WeChatApi that files use."""

    def __init__(self) -> None:
        self.calls: List[tuple] = []

    async def media(self, media_id: str) -> bytes:
        self.calls.append(("media", media_id))
        return png()

    async def upload_image(self, content: bytes, name: str, content_type: str) -> str:
        self.calls.append(("upload", name, content_type, content == png()))
        return "MEDIA-1"

    async def send_image(self, openid: str, media_id: str) -> None:
        self.calls.append(("image", openid, media_id))

    async def send_text(self, openid: str, content: str) -> None:
        self.calls.append(("text", openid, content))


def photo_from(openid: str) -> Inbound:
    return Inbound({"ToUserName": "gh_bank", "FromUserName": openid, "CreateTime": "1790000000",
                    "MsgType": "image", "PicUrl": "http://mmbiz.example/x", "MediaId": "M-42", "MsgId": "7001"},
                   sealed=False)


def wechat_input(api: FakeMediaApi) -> WeChatInput:
    channel = WeChatInput(WeChatConfig.from_credentials({"token": "t", "reply_timeout": 2}))
    channel.api = api
    return channel


async def test_a_wechat_photo_reaches_the_agent_of_an_open_case_and_rasa_hears_of_it(bank_db):
    opened("o-customer", channel="wechat")
    api, heard = FakeMediaApi(), []

    async def rasa(message) -> None:
        heard.append(message)

    reply = await wechat_input(api)._answer(photo_from("o-customer"), rasa)
    assert reply == "" and api.calls == [("media", "M-42")]   # paused for the agent: nothing to say
    [message] = heard
    file: Dict[str, Any] = message.metadata["file"]
    assert message.text == "[附件] 微信图片.png" and file["type"] == "image/png"
    assert serve(attachments.for_staff, file["id"], escalation(serve(handoff.queue)[0].reference).id).content == png()

    nobody = await wechat_input(api)._answer(photo_from("o-stranger"), rasa)
    assert nobody == text_of("utter_attachment_no_case") and len(heard) == 1
    assert api.calls == [("media", "M-42")]   # refused before downloading anything


async def test_an_agents_photo_goes_to_wechat_as_an_image_and_a_pdf_as_a_link(agent, monkeypatch):
    monkeypatch.setenv("HELPLINE_PUBLIC_URL", "https://chat.pcbank.example/")
    from bot.settings import reload
    reload()
    case = claimed("o-customer", agent, channel="wechat")
    photo = serve(attachments.from_agent, case.id, agent, png(), "示意图", at=NOW)
    form = serve(attachments.from_agent, case.id, agent, PDF, "申请表", at=NOW)
    api = FakeMediaApi()
    pusher = WeChatPusher(api, store=None)
    for row in outbox_rows("o-customer")[-2:]:
        await pusher.push(delivery_item(row))
    assert ("upload", "示意图.png", "image/png", True) in api.calls
    assert ("image", "o-customer", "MEDIA-1") in api.calls
    said = text_of("utter_agent_sent_file", file_name="申请表.pdf")
    assert ("text", "o-customer", f"{said}\nhttps://chat.pcbank.example/webhooks/wechat/files/{form.token}") in api.calls
    assert photo.token not in str(api.calls) and len(api.calls) == 3   # the photo's words are not sent besides it


def delivery_item(row):
    from bot.bank.messaging.outbox import OutboxItem

    return OutboxItem(id=row.id, channel=row.channel, recipient_id=row.channel_user, kind=row.kind,
                      messages=row.payload["messages"], resume=False, recorded=True, notification_id=None,
                      template=None)


def test_a_rest_client_cannot_pass_its_message_off_as_a_stored_file():
    """Only the channels mark a message with a file they stored; a client's `file` is dropped."""
    import json
    from types import SimpleNamespace

    from bot.channels.rest import read_request

    body = json.dumps({"sender": "c1", "message": "看这个", "metadata": {"file": {"id": 1}, "lang": "zh"}}).encode()
    assert read_request(SimpleNamespace(body=body))["metadata"] == {"lang": "zh"}
