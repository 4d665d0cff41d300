"""The knowledge-base editor in the console: who may use it, drafts, trying, publishing, history."""
from __future__ import annotations

import pytest

from bot.bank.db import transaction
from bot.bank.knowledge import topics
from bot.bank.staff.accounts import create_staff
from tests import test_desk as shared
from tests.test_desk import NOW, PASSWORD, csrf_of, post_form, post_json

desk = shared.desk
NEW_TOPIC = {"key": "digital_yuan", "title": "数字人民币钱包",
             "answer": "在{app_name}首页搜索「数字人民币」，按提示开通钱包；有问题请拨打24小时客服热线{bank_hotline}。",
             "examples": "数字人民币钱包怎么开\n数币钱包在哪开通\n我想开个数字人民币钱包\n数字钱包能用你们的卡绑定吗"}


@pytest.fixture
def editor(desk) -> str:
    with transaction() as session:
        create_staff(session, username="kb.zhou", display_name="周编辑", role="kb_editor", password=PASSWORD, when=NOW)
    return "kb.zhou"


async def test_editors_and_admins_see_the_knowledge_base_and_others_do_not(desk, editor):
    for username, status in ((editor, 200), ("boss", 200), ("agent", 403), ("futian", 403)):
        client = await desk.login(username)
        assert (await client.get("/knowledge")).status == status, username
    page = await (await (await desk.login(editor)).get("/knowledge")).text()
    assert "征信" in page and "知识库" in page


async def test_an_editor_writing_a_new_topic_is_told_how_many_questions_it_needs(desk, editor):
    """With 4 questions a new topic got 1 of 40 customers' phrasings, with 16 it got 10 (docs/benchmarks.md)."""
    page = await (await (await desk.login(editor)).get("/knowledge/new")).text()
    assert "至少写 15 种不同的问法" in page


async def test_a_draft_is_tried_then_published_and_kept_in_the_history(desk, editor):
    client = await desk.login(editor)
    saved = await post_json(client, "/api/knowledge/drafts", NEW_TOPIC)
    assert saved.status == 200 and (await saved.json())["published"] is None
    tried = await (await post_json(client, "/api/knowledge/try", {**NEW_TOPIC, "question": "数币钱包在哪儿开啊"})).json()
    assert tried["answer"]["key"] == "digital_yuan" and tried["intent"] is None   # no Rasa here: the matcher alone
    before = await (await post_json(client, "/api/knowledge/try", {"question": "数币钱包在哪儿开啊"})).json()
    assert before["answer"] is None or before["answer"]["key"] != "digital_yuan"  # not live yet
    published = await post_form(client, "/knowledge/digital_yuan/publish", {})
    assert published.status == 303
    with transaction() as session:
        assert "digital_yuan" in {article.key for article in topics.published_articles(session)}
    page = await (await client.get("/knowledge/digital_yuan")).text()
    assert "已上线" in page and "kb.zhou" in page


async def test_what_staff_write_is_refused_with_a_reason(desk, editor):
    client = await desk.login(editor)
    refused = await post_json(client, "/api/knowledge/drafts", {**NEW_TOPIC, "examples": "只有一句"})
    assert refused.status == 400 and "至少写 3 个" in (await refused.json())["message"]
    page = await post_form(client, "/knowledge/drafts", {**NEW_TOPIC, "answer": "短"})
    assert page.status == 303   # back to the list with the reason as a message
    assert "答案请写" in await (await client.get(page.headers["Location"])).text()


async def test_withdrawing_a_live_topic_takes_it_out_of_the_answers(desk, editor):
    client = await desk.login(editor)
    assert (await post_form(client, "/knowledge/credit_report/withdraw", {})).status == 303
    with transaction() as session:
        assert "credit_report" not in {article.key for article in topics.published_articles(session)}
    assert "已下线" in await (await client.get("/knowledge/credit_report")).text()
    refused = await client.post("/api/knowledge/credit_report/withdraw", headers={"X-CSRF-Token": await csrf_of(client)})
    assert refused.status == 409
