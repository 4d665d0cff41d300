"""The out-of-scope guard: it overrules a confident wrong intent, never a kept one, and
survives being saved into a model and loaded again."""
from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.scope_guard import OutOfScopeGuard

IN_SCOPE = {
    "find_branch": ["福田支行在哪", "附近有网点吗", "南山有没有你们的网点", "罗湖支行地址", "最近的支行怎么走"],
    "ask_question": ["提前还款要违约金吗", "手机银行怎么开通", "转账限额怎么调", "额度怎么没了", "征信怎么查"],
    "report_fraud": ["我的卡被盗刷了", "有人冒充客服骗我转账", "不是我本人花的钱", "账户里的钱被盗了", "收到诈骗短信"],
    "inform": ["福田支行", "明天下午", "第二个", "随便", "13800138000"],
}
OUT_OF_SCOPE = ["你们的基金收益多少", "纸黄金怎么买", "外汇牌价在哪看", "保险怎么退保", "明天天气怎么样",
                "给我讲个笑话", "公积金怎么提取", "股票账户怎么开", "数字人民币红包怎么领", "理财产品推荐一下"]


def message(text: str, intent: str, confidence: float = 0.9) -> Message:
    return Message(data={"text": text, "intent": {"name": intent, "confidence": confidence},
                         "intent_ranking": [{"name": intent, "confidence": confidence}]})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("guard"))
    resource = Resource("scope_guard")
    config = {"threshold": 0.5, "keep": ["inform", "report_fraud"]}
    context = ExecutionContext(graph_schema=None, model_id="test")
    guard = OutOfScopeGuard.create({**OutOfScopeGuard.get_default_config(), **config}, storage, resource, context)
    examples = [Message(data={"text": text, "intent": intent}) for intent, texts in IN_SCOPE.items() for text in texts]
    examples += [Message(data={"text": text, "intent": "out_of_scope"}) for text in OUT_OF_SCOPE]
    guard.train(TrainingData(examples))
    return OutOfScopeGuard.load({**OutOfScopeGuard.get_default_config(), **config}, storage, resource, context)


def test_a_question_nothing_covers_becomes_out_of_scope_whatever_diet_said(trained):
    [said] = trained.process([message("你们银行的基金定投怎么弄", "find_branch", 0.93)])
    assert said.get("intent")["name"] == "out_of_scope"
    assert said.get("intent_ranking")[1]["name"] == "find_branch"      # what DIET said stays in the ranking
    assert said.get("scope")["intent"] == "find_branch" and said.get("scope")["out_of_scope"] >= 0.5


def test_an_in_scope_question_keeps_its_intent(trained):
    [said] = trained.process([message("提前还款有违约金吗", "ask_question")])
    assert said.get("intent")["name"] == "ask_question" and said.get("scope")["out_of_scope"] < 0.5


@pytest.mark.parametrize("intent", ["inform", "report_fraud"])
def test_form_answers_and_reports_of_trouble_are_never_overruled(trained, intent):
    [said] = trained.process([message("你们银行的基金定投怎么弄", intent)])
    assert said.get("intent")["name"] == intent
