"""The learning loop (bot.bank.learning): grouping what the bot did not
understand, and writing reviewed examples Rasa can train on; and its
console page (bot.desk.pages.insights)."""
from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import List

import pytest
import yaml

from bot.insights import learning
from bot.insights.tracker import Message
from bot.clock import SHANGHAI
from bot.bank.refusals import Refusal
from tests.test_desk import csrf_of, post_form
from tests import test_insights
from tests.test_insights import MASKED, PHONE, WEEK_QUERY

# The insights tests' fixtures: the scenario week and the console with the insights pages.
week, console = test_insights.week, test_insights.console

WHEN = datetime(2026, 9, 28, 9, 30, tzinfo=SHANGHAI)


def fallback(text: str, number: int, ranking=("nlu_fallback",)) -> Message:
    return Message(number, f"sender-{number}", WHEN, "rest", text, "nlu_fallback", 0.4, None, tuple(ranking),
                   None, True)


def grouped(texts: List[str]) -> List[List[str]]:
    groups = learning.group_messages([fallback(text, number) for number, text in enumerate(texts)])
    return [sorted(group.texts) for group in groups]


def rasa_examples(path: Path) -> List[tuple]:
    """(text, label) as Rasa's own loader reads the file."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(m.get("text"), m.get("intent_response_key") or m.get("intent")) for m in data.training_examples]


@pytest.fixture
def reviewed(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "nlu" / "reviewed.yml"
    monkeypatch.setenv("HELPLINE_REVIEWED_NLU", str(path))
    return path


# --- grouping --------------------------------------------------------------------------------

def test_similar_questions_group_together_and_others_apart():
    groups = grouped(["信用卡怎么分期还款", "信用卡可以分期还吗", "信用卡账单分期怎么弄", "纸黄金怎么买", "黄金能买吗",
                      "明天天气怎么样", "收不到短信验证码怎么办", "短信验证码一直收不到"])
    assert sorted(["信用卡怎么分期还款", "信用卡可以分期还吗", "信用卡账单分期怎么弄"]) in groups
    assert sorted(["纸黄金怎么买", "黄金能买吗"]) in groups
    assert sorted(["收不到短信验证码怎么办", "短信验证码一直收不到"]) in groups
    assert ["明天天气怎么样"] in groups                 # "怎么" alone does not make questions alike


def test_the_same_wording_is_one_line_with_its_count_and_masked():
    messages = [fallback(f"我的手机号{PHONE}收不到验证码", 1), fallback("我的手机号13900139000收不到验证码", 2),
                fallback("我的手机号13800138000收不到验证码", 3), fallback("外汇牌价在哪看", 4)]
    first, second = learning.group_messages(messages)
    assert first.texts == (f"我的手机号{MASKED}收不到验证码", "我的手机号*******9000收不到验证码")
    assert first.counts == (2, 1) and first.size == 3 and first.event_ids == ((1, 3), (2,))
    assert second.texts == ("外汇牌价在哪看",)


def test_the_suggestion_is_the_best_valid_label_the_nlu_ranked():
    message = fallback("转账到他行要多久", 1, ranking=("nlu_fallback", "out_of_scope", "ask_question", "greet"))
    assert learning.suggest(message) == "ask_question"
    assert learning.suggest(fallback("啊", 2, ranking=("nlu_fallback", "nonsense"))) is None
    assert learning.group_messages([message])[0].suggestion == "ask_question"


def test_no_messages_no_groups():
    assert learning.group_messages([]) == []


# --- writing training data ---------------------------------------------------------------------

def test_examples_are_appended_in_rasa_format_masked_and_deduplicated(reviewed):
    first = learning.add_examples("ask_question", [f"我的手机号{PHONE}收不到验证码", "短信验证码一直收不到",
                                                         "短信验证码  一直收不到"], "boss", WHEN)
    assert first.added == (f"我的手机号{MASKED}收不到验证码", "短信验证码一直收不到")
    assert first.duplicates == ("短信验证码 一直收不到",)          # spaces do not make a new sentence
    second = learning.add_examples("ask_question", ["短信验证码一直收不到", "换了手机号怎么改"], "boss", WHEN)
    assert second.added == ("换了手机号怎么改",) and second.duplicates == ("短信验证码一直收不到",)
    text = reviewed.read_text(encoding="utf-8")
    assert PHONE not in text and text.count('version: "3.1"') == 1 and text.count("- intent:") == 2
    assert "2026-09-28 09:30 boss 审核加入 2 条" in text
    assert rasa_examples(reviewed) == [(f"我的手机号{MASKED}收不到验证码", "ask_question"),
                                       ("短信验证码一直收不到", "ask_question"),
                                       ("换了手机号怎么改", "ask_question")]


def test_sentences_already_in_the_training_data_are_not_added_again(reviewed):
    # 福田支行10月2号开门吗 is an example of ask_opening_hours in data/nlu/hours.yml
    same = learning.add_examples("ask_opening_hours", ["福田支行10月2号开门吗"], "boss", WHEN)
    other = learning.add_examples("greet", ["福田支行10月2号开门吗", "小鹏下午好呀"], "boss", WHEN)
    assert same.added == () and same.duplicates == ("福田支行10月2号开门吗",)
    assert other.added == ("小鹏下午好呀",) and other.conflicts == (("福田支行10月2号开门吗", "ask_opening_hours"),)
    assert rasa_examples(reviewed) == [("小鹏下午好呀", "greet")]


def test_benchmark_sentences_stay_out_of_the_training_data(reviewed):
    # 在吗 is a held-out greet sentence in bench/heldout/test.yml
    result = learning.add_examples("greet", ["在吗", "小鹏晚上好"], "boss", WHEN)
    assert result.held_out == ("在吗",) and result.added == ("小鹏晚上好",)


def test_unknown_labels_and_empty_input_are_refused(reviewed):
    for label in ("howto", "sell_gold", "kb/sell_gold", ""):
        with pytest.raises(Refusal, match="意图清单"):
            learning.add_examples(label, ["纸黄金怎么买"], "boss", WHEN)
    with pytest.raises(Refusal, match="没有可加入的例句"):
        learning.add_examples("greet", ["  ", ""], "boss", WHEN)
    assert not reviewed.exists()


def test_a_customer_bracket_is_not_read_as_an_entity_annotation(reviewed):
    learning.add_examples("book_appointment", ["约[福田](branch)明天"], "boss", WHEN)
    [(text, label)] = rasa_examples(reviewed)
    assert label == "book_appointment" and "福田" in text and "branch" in text


def test_two_admins_at_once_do_not_interleave_or_double_add(reviewed):
    results = []
    workers = [threading.Thread(target=lambda: results.append(
        learning.add_examples("greet", ["小鹏你好呀", "早上好小鹏"], "boss", WHEN))) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sum(len(result.added) for result in results) == 2
    assert sorted(rasa_examples(reviewed)) == [("小鹏你好呀", "greet"), ("早上好小鹏", "greet")]
    assert yaml.safe_load(reviewed.read_text(encoding="utf-8"))["version"] == "3.1"


# --- the console --------------------------------------------------------------------------------

async def carol_group(client) -> dict:
    body = await (await client.get(f"/api/insights/learning?{WEEK_QUERY}")).json()
    return next(g for g in body["groups"] if any("验证码" in text for text in g["texts"]))


async def test_one_click_adds_a_group_to_the_training_data(console, reviewed):
    boss = await console.login("boss")
    group = await carol_group(boss)
    assert group["texts"] == [f"我的手机号{MASKED}收不到验证码", "短信验证码一直收不到"] and group["size"] == 2
    form = [("label", "ask_question"), ("from", "2026-09-21"), ("to", "2026-09-24"),
            ("csrf_token", await csrf_of(boss))] + [("event_id", str(ids[0])) for ids in group["event_ids"]]
    response = await boss.post("/insights/learning/add", data=form, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/insights/learning"
    page = await (await boss.get(response.headers["Location"] + f"?{WEEK_QUERY}")).text()
    assert "已把 2 条例句加入 reviewed.yml（意图 ask_question）" in page
    assert rasa_examples(reviewed) == [(f"我的手机号{MASKED}收不到验证码", "ask_question"),
                                       ("短信验证码一直收不到", "ask_question")]
    again = await boss.post("/api/insights/learning/add", json={
        "label": "ask_question", "from": "2026-09-21", "to": "2026-09-24",
        "event_ids": [ids[0] for ids in group["event_ids"]]}, headers={"X-CSRF-Token": await csrf_of(boss)})
    assert (await again.json())["duplicates"] == [f"我的手机号{MASKED}收不到验证码", "短信验证码一直收不到"]


async def test_the_console_refuses_unknown_labels_and_foreign_messages(console, reviewed):
    boss = await console.login("boss")
    group = await carol_group(boss)
    headers = {"X-CSRF-Token": await csrf_of(boss)}
    unknown = await boss.post("/api/insights/learning/add", json={
        "label": "sell_gold", "from": "2026-09-21", "to": "2026-09-24", "event_ids": [group["event_ids"][0][0]]},
        headers=headers)
    assert unknown.status == 400 and "意图清单" in (await unknown.json())["message"]
    # an event id that is not a fallback message of the period adds nothing
    outside = await boss.post("/api/insights/learning/add", json={
        "label": "greet", "from": "2026-08-01", "to": "2026-08-02", "event_ids": [group["event_ids"][0][0]]},
        headers=headers)
    assert outside.status == 400 and not reviewed.exists()
    refused = await post_form(boss, "/insights/learning/add", {"label": "greet"}, csrf=False)
    assert refused.status == 403
