"""The normaliser turns what customers type into one canonical form."""
import pytest

from bot.nlu.normalise import is_blank, normalise


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("下週三兩點開門嗎", "下周三两点开门吗"),
        ("還款日能改嗎", "还款日能改吗"),
        ("怎麼轉賬", "怎么转账"),
        ("ＡＰＰ怎麼登錄？", "APP怎么登录?"),
        ("１３８００１３８０００", "13800138000"),
        ("尾号１２３４，謝謝！", "尾号1234,谢谢!"),
        ("福田支行\u3000今天开吗", "福田支行 今天开吗"),
    ],
)
def test_traditional_and_full_width_become_simplified_half_width(typed, expected):
    assert normalise(typed) == expected


@pytest.mark.parametrize(
    "typed",
    ["😀👍🏻你好❤️", "转账🙏🙏", "🇨🇳 开户", "1️⃣ 预约", "a\x00b\tc\u200bd\r\n", "👨‍👩‍👧 一家人"],
)
def test_emoji_and_control_characters_become_spaces(typed):
    result = normalise(typed)
    assert len(result) == len(typed)
    assert all(char == " " or char.isalnum() or char in "!?,." for char in result)


def test_empty_and_emoji_only_input_is_blank():
    assert normalise("") == ""
    assert is_blank("")
    assert is_blank("😀😀 🙏")
    assert is_blank("\x00\x07\u200b")
    assert not is_blank("你好")


def test_length_is_preserved_so_entity_offsets_match_the_original():
    typed = "幫我預約下週三下午三點去福田支行😀"
    result = normalise(typed)
    assert len(result) == len(typed)
    start = result.index("福田支行")
    assert typed[start : start + 4] == "福田支行"


def test_already_canonical_text_is_unchanged():
    text = "手机银行怎么开通"
    assert normalise(text) == text
