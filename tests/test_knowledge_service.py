"""The knowledge base's rules: drafts, publishing, withdrawing, history, and what staff may write."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.bank.knowledge import topics
from bot.bank.knowledge.models import RevisionState
from bot.bank.refusals import Refusal
from bot.clock import SHANGHAI
from tests.bankdb import refused, serve

NOW = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)
EXAMPLES = ["数字人民币钱包怎么开", "数币钱包在哪开通", "数字人民币能用你们银行开吗"]
ANSWER = "在{app_name}首页搜索「数字人民币」，按提示开通钱包即可；有问题请拨打24小时客服热线{bank_hotline}。"


def draft(key="digital_yuan", title="数字人民币钱包", answer=ANSWER, examples=EXAMPLES, author="editor", at=NOW):
    return serve(topics.save_draft, key, title, answer, examples, author=author, at=at)


def test_the_demo_knowledge_base_is_published_with_every_topic(bank_db):
    live = serve(topics.published_articles)
    assert len(live) == 38 and all(len(article.examples) >= 60 for article in live)
    assert {"early_repayment", "credit_report", "frozen_account"} <= {article.key for article in live}


def test_a_draft_is_not_answered_until_it_is_published(bank_db):
    before = serve(topics.corpus_version)
    view = draft()
    assert view.draft.state == RevisionState.DRAFT and view.published is None
    assert "digital_yuan" not in {article.key for article in serve(topics.published_articles)}
    assert serve(topics.corpus_version) == before
    live = serve(topics.publish, "digital_yuan", author="boss", at=NOW + timedelta(minutes=5))
    assert live.published.published_by == "boss" and live.draft is None
    assert serve(topics.corpus_version) != before
    assert "digital_yuan" in {article.key for article in serve(topics.published_articles)}


def test_editing_a_live_topic_keeps_the_live_answer_until_the_new_one_is_published(bank_db):
    draft()
    serve(topics.publish, "digital_yuan", author="boss")
    draft(answer=ANSWER.replace("首页", "「我的」页"), author="editor2", at=NOW + timedelta(hours=1))
    view = serve(topics.topic, "digital_yuan")
    assert "首页" in view.published.answer and "「我的」页" in view.draft.answer
    view = serve(topics.publish, "digital_yuan", author="boss", at=NOW + timedelta(hours=2))
    assert "「我的」页" in view.published.answer
    assert [(r.number, r.state, r.author) for r in view.history] == [
        (2, RevisionState.PUBLISHED, "editor2"), (1, RevisionState.SUPERSEDED, "editor")]


def test_withdrawing_stops_the_answer_and_keeps_the_history(bank_db):
    draft()
    serve(topics.publish, "digital_yuan", author="boss")
    view = serve(topics.withdraw, "digital_yuan", author="boss")
    assert not view.live and view.history[0].state == RevisionState.WITHDRAWN and "boss" in view.history[0].note
    assert "digital_yuan" not in {article.key for article in serve(topics.published_articles)}
    with refused("not_live"):
        serve(topics.withdraw, "digital_yuan", author="boss")


@pytest.mark.parametrize("change, words", [
    ({"title": "x"}, "标题"),
    ({"answer": "太短"}, "答案"),
    ({"answer": ANSWER + "{customer_name}"}, "占位符"),
    ({"examples": ["只有一个例句", "  ", "只有一个例句"]}, "至少写 3 个"),
    ({"key": "数字人民币"}, "条目编号"),
])
def test_what_staff_write_is_checked_with_a_reason_they_can_act_on(bank_db, change, words):
    with pytest.raises(Refusal, match=words):
        draft(**change)


def test_a_new_topic_without_a_key_gets_one(bank_db):
    view = draft(key=None)
    assert view.key.startswith("topic_") and view.draft.examples == tuple(EXAMPLES)


def test_loading_the_demo_again_keeps_staff_edits(bank_db):
    draft(key="credit_report", title="征信", answer=ANSWER, examples=EXAMPLES)
    serve(topics.publish, "credit_report", author="boss")
    assert serve(topics.load_demo) == 0
    assert serve(topics.topic, "credit_report").published.title == "征信"
