"""Phones and loan references are read exactly, and never confused with cards."""
import pytest

from bot.nlu.identifiers import find_loan_refs, find_phones


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("13800138000", "13800138000"),
        ("我手机号139 1234 5678", "13912345678"),
        ("+86 138-0013-8000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("电话是15912345678谢谢", "15912345678"),
    ],
)
def test_mainland_mobile_numbers_are_found(text, phone):
    assert [found.value for found in find_phones(text)] == [phone]


@pytest.mark.parametrize(
    "text",
    [
        "卡号6222021234567890123",      # a 19-digit card holds an 11-digit run
        "身份证44030119900101123X",      # so does an ID card number
        "12345678901",                  # starts 12: not a mobile prefix
        "我还了13800元",                  # an amount
        "座机0755-83201001",
    ],
)
def test_other_numbers_are_not_phones(text):
    assert find_phones(text) == []


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("合同号pc2020hl000123", "PC2020HL000123"),
        ("我的贷款合同PC2021JY004567", "PC2021JY004567"),
        ("贷款尾号1234", "1234"),
        ("尾号是4321的房贷", "4321"),
        ("合同后四位 8888", "8888"),
    ],
)
def test_loan_references_are_found(text, ref):
    assert [found.value for found in find_loan_refs(text)] == [ref]


@pytest.mark.parametrize("text", ["手机尾号5678", "信用卡尾号1234的那张", "银行卡后四位是0001"])
def test_phone_and_card_tails_are_not_loans(text):
    assert find_loan_refs(text) == []
