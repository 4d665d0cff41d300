"""Branch, district and service names resolve to canonical values."""
import pytest

from bot.bank.profile import load_profile
from bot.bank.vocabulary import vocabulary
from bot.nlu.gazetteer import build_pipeline, find_names


@pytest.fixture(scope="module")
def nlp():
    return build_pipeline(vocabulary(load_profile()))


def names(nlp, text):
    return [(match.entity, match.value) for match in find_names(nlp, text)]


@pytest.mark.parametrize(
    ("text", "branch"),
    [
        ("福田支行周六开吗", "福田支行"),
        ("福田那个网点几点开门", "福田支行"),
        ("去福田办", "福田支行"),
        ("科技园的支行在哪", "科技园支行"),
        ("就南山吧", "南山支行"),
        ("东门那边的网点", "罗湖支行"),
        ("龙华", "龙华支行"),
    ],
)
def test_branch_names_and_aliases_resolve_to_the_branch(nlp, text, branch):
    assert ("branch", branch) in names(nlp, text)


def test_every_branch_name_and_alias_is_recognised(nlp):
    for branch in load_profile().branches:
        for phrase in (branch["name"], *branch["aliases"]):
            assert ("branch", branch["name"]) in names(nlp, f"我想去{phrase}看看"), phrase


def test_a_district_is_not_a_branch(nlp):
    assert names(nlp, "南山区有网点吗") == [("district", "南山区")]


@pytest.mark.parametrize(
    ("text", "service"),
    [("我要办面签", "面签"), ("想去取现金", "大额取现"), ("补办银行卡", "挂失补卡"), ("提前还贷", "提前还款")],
)
def test_services_resolve_to_the_bookable_service(nlp, text, service):
    assert ("service", service) in names(nlp, text)


@pytest.mark.parametrize("text", ["", "   ", "我要转账", "😀"])
def test_text_without_names_gives_nothing(nlp, text):
    assert names(nlp, text) == []
