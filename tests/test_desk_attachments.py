"""Files in the console (bot.desk.pages.attachments): staff open what a customer sent, with headers
that keep it inert; agents send a photo or PDF from the case page; over HTTP against the console."""
from __future__ import annotations

import base64
from datetime import timedelta

import aiohttp

from bot.bank.handoff import attachments
from tests.bankdb import serve
from tests import test_desk_escalations as escalation_tests
from tests.test_desk import NOW, csrf_of, post_json
from tests.test_desk_escalations import escalate, outbox
from tests.files import PDF, png

desk, rasa = escalation_tests.desk, escalation_tests.rasa   # fixtures


async def test_staff_open_a_customers_photo_served_inert_and_branch_staff_cannot(desk, rasa):
    escalation_id = escalate("c1")
    sent = serve(attachments.from_customer, "c1", png(), "诈骗短信13800138000")
    rasa.say("c1", "user", attachments.label(sent.name), 1790000100.0)
    rasa.events["c1"][-1]["metadata"] = {"file": sent.as_metadata()}
    agent, branch = await desk.login("agent"), await desk.login("futian")

    url = f"/escalations/{escalation_id}/files/{sent.id}"
    page = await (await agent.get(f"/escalations/{escalation_id}")).text()
    assert f'<img src="{url}" alt="诈骗短信*******8000.png">' in page
    opened = await agent.get(url)
    assert opened.status == 200 and await opened.read() == png()
    assert opened.headers["Content-Type"] == "image/png"
    assert opened.headers["X-Content-Type-Options"] == "nosniff"
    assert opened.headers["Content-Security-Policy"] == "sandbox"
    assert "8000.png" in opened.headers["Content-Disposition"] and "13800138000" not in opened.headers["Content-Disposition"]
    assert (await branch.get(url)).status == 403
    assert (await agent.get(f"/escalations/{escalation_id}/files/999")).status == 404


async def test_a_message_naming_another_cases_file_shows_and_opens_nothing(desk, rasa):
    first, second = escalate("c1"), escalate("c2")
    theirs = serve(attachments.from_customer, "c2", PDF, "他人的流水")
    rasa.say("c1", "user", "看这个", 1790000100.0)
    rasa.events["c1"][-1]["metadata"] = {"file": {"id": theirs.id, "name": "x.pdf", "type": "application/pdf"}}
    rasa.say("c1", "user", "还有这个", 1790000101.0)
    rasa.events["c1"][-1]["metadata"] = {"file": {"id": "x"}}
    agent = await desk.login("agent")
    page = await agent.get(f"/escalations/{first}")
    assert page.status == 200 and "还有这个" in await page.text()
    assert (await agent.get(f"/escalations/{first}/files/{theirs.id}")).status == 404
    pdf = await agent.get(f"/escalations/{second}/files/{theirs.id}")
    assert pdf.status == 200 and pdf.headers["Content-Disposition"].startswith("attachment;")
    assert "Content-Security-Policy" not in pdf.headers   # a PDF downloads; browsers' viewers refuse a sandbox


async def test_an_expired_file_answers_gone(desk):
    escalation_id = escalate("c1")
    sent = serve(attachments.from_customer, "c1", png(), "scam", at=NOW - timedelta(days=31))
    agent = await desk.login("agent")
    gone = await agent.get(f"/escalations/{escalation_id}/files/{sent.id}")
    assert gone.status == 410 and "已过保存期限" in await gone.text()


async def test_an_agent_sends_a_pdf_from_the_case_page_and_a_program_is_refused(desk):
    escalation_id = escalate("c1")
    agent = await desk.login("agent")
    await post_json(agent, f"/api/escalations/{escalation_id}/claim", {})
    form = aiohttp.FormData()
    form.add_field("csrf_token", await csrf_of(agent))
    form.add_field("file", PDF, filename="还款计划.pdf", content_type="application/pdf")
    response = await agent.post(f"/escalations/{escalation_id}/files", data=form, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == f"/escalations/{escalation_id}"
    assert "文件已提交" in await (await agent.get(response.headers["Location"])).text()
    [message] = outbox("c1", "agent_message")[-1].payload["messages"]
    assert message["metadata"]["file"]["name"] == "还款计划.pdf" and message["metadata"]["agent"] == "李客服"

    program = base64.b64encode(b"MZ\x90\x00 not a pdf").decode()
    refused = await post_json(agent, f"/api/escalations/{escalation_id}/files", {"name": "a.pdf", "content": program})
    assert refused.status == 415 and "JPG、PNG 图片或 PDF" in (await refused.json())["message"]
    page = await (await agent.get(f"/escalations/{escalation_id}")).text()
    assert f'action="/escalations/{escalation_id}/files"' in page and 'enctype="multipart/form-data"' in page

    too_big = aiohttp.FormData()
    too_big.add_field("csrf_token", await csrf_of(agent))
    too_big.add_field("file", b"%PDF-" + b"0" * (8 * 1024 * 1024), filename="big.pdf", content_type="application/pdf")
    refused_page = await agent.post(f"/escalations/{escalation_id}/files", data=too_big, allow_redirects=False)
    assert refused_page.status == 413 and "文件超过 5 MB" in await refused_page.text()
