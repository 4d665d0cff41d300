"""Personal numbers in transcripts keep only their last 4 digits; other numbers stay."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.bank.masking import is_resident_id, mask_text, passes_luhn

VALID_ID = "11010519491231002X"          # the GB 11643 example, check digit X
CARD_16 = "4111111111111111"             # Luhn-valid test card
CARD_19 = "6222020200000000006"          # Luhn-valid, 19 digits (UnionPay length)


@pytest.mark.parametrize("said, masked", [
    ("我的手机13800138000", "我的手机*******8000"),
    ("电话 +86 138 0013 8000 打我", "电话 *******8000 打我"),
    ("+8613800138000", "*******8000"),
    ("8613800138000", "*******8000"),
    ("号码138-0013-8000", "号码*******8000"),
    ("１３８００１３８０００", "*******8000"),                       # full-width digits
    (f"身份证{VALID_ID}", "身份证**************002X"),
    (f"身份证{VALID_ID.lower()}", "身份证**************002X"),
    (f"卡号{CARD_16}被盗刷了", "卡号************1111被盗刷了"),
    (f"卡号{CARD_19}", "卡号***************0006"),
    ("卡 6222 0202 0000 0000 006", "卡 ***************0006"),
    ("4111-1111-1111-1111", "************1111"),
])
def test_personal_numbers_keep_only_the_last_four_digits(said, masked):
    assert mask_text(said) == masked


@pytest.mark.parametrize("said", [
    "借款500000元，2026年10月1日到期",
    "转了12345678901.50元",                   # an amount with 11 digits before the point
    "日期20261001，或者2026-10-01",
    "预约号YY7KQ2MX，合同号HT2026000123",
    "热线400-830-9595，心理援助12356",
    "订单号12345678901234567",                 # 17 digits: neither ID nor card
    "4111111111111112",                        # 16 digits failing Luhn
    "11010519491231002Y",                      # not an ID check character
    "110105194912310021",                      # 18 digits, wrong check digit
    "12800138000",                             # 11 digits, not a mobile prefix
])
def test_ordinary_numbers_are_left_alone(said):
    assert mask_text(said) == said


def test_checksums():
    assert is_resident_id(VALID_ID) and not is_resident_id("110105194912310021")
    assert passes_luhn(CARD_16) and passes_luhn(CARD_19) and not passes_luhn("4111111111111112")


@given(st.text(alphabet="0123456789 -+元年月日号卡X", max_size=60))
def test_masking_never_reveals_more_and_keeps_text_around_numbers(text):
    masked = mask_text(text)
    assert mask_text(masked) == masked                    # idempotent: nothing left to mask
    assert masked.count("*") >= text.count("*")
