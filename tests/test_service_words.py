"""Services by the customer's words, through the demo bank profile's synonyms."""
from __future__ import annotations

import pytest

from bot.bank.booking.service_words import ServiceWords, service_in_words


@pytest.mark.parametrize("said, service", [
    ("后天想去福田那边办张卡", "开户"), ("开张卡", "开户"), ("我想办卡", "开户"), ("开个账户", "开户"),
    ("取钱", "大额取现"), ("要取现金五万", "大额取现"), ("取点钱", "大额取现"),
    ("银行卡丢了要补办银行卡", "挂失补卡"), ("签贷款合同", "面签"), ("提前还贷", "提前还款"),
    ("换还款卡", "贷后变更"), ("帮我在罗湖支行约个后天下午的号，存钱", "存款"),
])
def test_the_profile_synonyms_name_the_service(said, service):
    assert service_in_words(said) == ServiceWords(service=service)


@pytest.mark.parametrize("said", ["改还款日", "我想改一下每月的还款日", "换个扣款日"])
def test_moving_the_debit_day_is_the_online_change_not_a_counter_visit(said):
    assert service_in_words(said) == ServiceWords(debit_day=True)


def test_words_of_no_service_name_none():
    assert service_in_words("下午三点吧") == ServiceWords()


def test_another_banks_profile_brings_its_own_words():
    services = [{"name": "外币兑换", "synonyms": ["换外币", "换美元"]}]
    assert service_in_words("想换点美元", services) == ServiceWords(service="外币兑换")
