"""Chinese time understanding: the YAML case table plus the debit day customers name."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Any, Dict

import pytest

from bench.time_cases import check_case, load_cases
from bot.nlu.chinese_time import (
    SHANGHAI,
    extract_times,
    find_debit_day,
)

MIN_CASES = 160
MIN_PASS_RATE = 0.98
CASES = load_cases()


def _case_id(index: int, case: Dict[str, Any]) -> str:
    return f"{index:03d}-{case['text']}@{case['ref'][:10]}"


def test_case_table_is_big_enough_and_well_formed():
    assert len(CASES) >= MIN_CASES
    refs = {case["ref"][:10] for case in CASES}
    for day in ("2026-11-22", "2026-01-31", "2026-12-31", "2028-02-28"):
        assert day in refs
    for case in CASES:
        kinds = [key for key in ("value", "range", "none") if key in case]
        assert len(kinds) == 1, case
        assert case["ref"].endswith("+08:00"), case
        if not case.get("none"):
            assert case["grain"] in ("day", "hour", "minute"), case


def test_pass_rate_over_all_cases():
    results = [check_case(case) for case in CASES]
    failures = [
        f"{case['text']} @ {case['ref']}: {why}"
        for case, (ok, why) in zip(CASES, results) if not ok
    ]
    rate = 1 - len(failures) / len(CASES)
    assert rate >= MIN_PASS_RATE, f"pass rate {rate:.3f}; failures:\n" + "\n".join(failures)


@pytest.mark.parametrize(
    "case", CASES, ids=[_case_id(i, c) for i, c in enumerate(CASES)])
def test_case(case):
    ok, why = check_case(case)
    assert ok, f"{case['text']!r} @ {case['ref']}: {why}"


# --- TimeMatch and the Rasa entity shape ------------------------------------

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI)


def test_offsets_point_into_the_text():
    text = "帮我预约下周三下午三点去福田支行"
    (match,) = extract_times(text, NOW)
    assert text[match.start:match.end] == match.text == "下周三下午三点"


def test_value_entity_shape_matches_duckling():
    (match,) = extract_times("明天下午三点", NOW)
    entity = match.to_entity()
    assert entity["entity"] == "time"
    assert entity["value"] == "2026-11-23T15:00:00.000+08:00"
    assert entity["confidence"] == 1.0
    assert entity["extractor"] is None
    assert (entity["start"], entity["end"]) == (0, 6)
    info = entity["additional_info"]
    assert info["type"] == "value"
    assert info["grain"] == "hour"
    assert info["values"] == [{"value": entity["value"], "grain": "hour", "type": "value"}]


def test_interval_entity_shape_matches_duckling():
    (match,) = extract_times("明天下午", NOW)
    entity = match.to_entity()
    assert entity["value"] == {
        "from": "2026-11-23T12:00:00.000+08:00",
        "to": "2026-11-23T18:00:00.000+08:00",
    }
    info = entity["additional_info"]
    assert info["type"] == "interval"
    assert info["from"] == {"value": "2026-11-23T12:00:00.000+08:00", "grain": "hour"}
    assert info["to"] == {"value": "2026-11-23T18:00:00.000+08:00", "grain": "hour"}
    assert info["values"][0]["type"] == "interval"


def test_time_match_is_frozen_and_hashable():
    (match,) = extract_times("下周", NOW)
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.start = 3  # type: ignore[misc]
    assert hash(match) == hash(match)


def test_several_times_in_one_message_come_in_order():
    texts = [m.text for m in extract_times("明天下午三点不行的话 后天上午也可以", NOW)]
    assert texts == ["明天下午三点", "后天上午"]


def test_naive_and_foreign_reference_times_are_read_as_shanghai():
    naive = datetime(2026, 11, 22, 10, 0)
    utc = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
    for now in (naive, utc):
        (match,) = extract_times("明天", now)
        assert match.value == "2026-11-23T00:00:00.000+08:00"


@pytest.mark.parametrize("text", ["", "   ", "\n", "。。。", "号号号", "点点点", "月月月底"])
def test_junk_gives_nothing_or_something_sane(text):
    for match in extract_times(text, NOW):
        assert 0 <= match.start < match.end <= len(text)


# --- Debit day -----------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("28号", 28),
    ("二十八号", 28),
    ("每月28日", 28),
    ("每个月的15号扣吧", 15),
    ("改到25", 25),
    ("能不能改到25 我那天发工资", 25),
    ("廿五号", 25),
    ("卅一号", 31),
    ("扣款日改成十号", 10),
    ("下个月的5号", 5),
    ("还款日调到每月20号", 20),
    ("25", 25),
    ("二十五号吧", 25),
    ("就8号", 8),
    ("31号", 31),
    ("30号可以吗", 30),
    ("现在是每月28号扣 想改到15号", 15),
    ("每个月15号发工资 能不能改到20号扣", 20),
])
def test_find_debit_day(text, expected):
    found = find_debit_day(text)
    assert (found[0] if found else None) == expected


@pytest.mark.parametrize("text", [
    "13800138000",
    "我手机号13800138000",
    "尾号1234",
    "卡尾号是1234",
    "我要转账",
    "下午3点",
    "改到3点",
    "32号",
    "0号",
    "2月30日",
    "地铁1号线",
    "3号窗口",
    "深南中路1088号",
    "1234",
    "改到下个月",
    "每月两千块的月供",
    "每月还5000",
    "",
])
def test_find_debit_day_rejects(text):
    assert find_debit_day(text) is None
