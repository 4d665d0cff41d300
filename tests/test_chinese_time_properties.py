"""Property tests: the time extractor survives anything a customer can type."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.nlu.chinese_time import (
    SHANGHAI,
    _extract_unguarded,
    extract_times,
    find_debit_day,
)

# Characters the patterns care about, mixed with anything else Unicode offers.
TIME_CHARS = (
    "0123456789:/-.年月日号点半刻分时周星期礼拜天今明后昨前大下上这本个"
    "一二两三四五六七八九十廿卅零〇底末初早中晚午凌晨傍夜以之内每的 ,，()"
)
FRAGMENTS = [
    "下周三", "下午三点", "明早", "2月30日", "13月1日", "4月31号", "31号", "月底", "月初",
    "十二点半", "14:00", "下下个月", "3天后", "半小时后", "一点", "早", "晚上12点",
    "2028年2月29日", "9999年12月31日", "0000年1月1日", "99999天后", "一百天后",
    "12/31", "0/0", "99:99", "24:00", "25点", "周末", "礼拜天", "廿五号", "卅一号",
]

mixed_text = st.lists(
    st.one_of(
        st.text(alphabet=TIME_CHARS, max_size=12),
        st.sampled_from(FRAGMENTS),
        st.text(max_size=6),
    ),
    max_size=8,
).map("".join)

reference_times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2098, 12, 31),
).map(lambda moment: moment.replace(tzinfo=SHANGHAI))


def _parse_iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert value.endswith("+08:00"), value
    assert parsed.utcoffset() == timedelta(hours=8), value
    assert value[19:23] == ".000", value   # Duckling-style milliseconds
    return parsed


@settings(max_examples=400, deadline=None)
@given(text=mixed_text, now=reference_times)
def test_never_raises_and_values_are_valid(text, now):
    matches = _extract_unguarded(text, now)   # the unguarded core must not raise either
    assert matches == extract_times(text, now)
    previous_end = 0
    for match in matches:
        assert 0 <= match.start < match.end <= len(text)
        assert match.start >= previous_end       # non-overlapping, in order
        previous_end = match.end
        assert match.text == text[match.start:match.end]
        assert match.grain in ("day", "hour", "minute")
        if match.is_interval:
            start, end = _parse_iso(match.value["from"]), _parse_iso(match.value["to"])
            assert start < end
        else:
            _parse_iso(match.value)
        entity = match.to_entity()
        assert entity["entity"] == "time" and entity["start"] == match.start


@settings(max_examples=200, deadline=None)
@given(text=mixed_text)
def test_the_debit_day_finder_never_raises(text):
    found = find_debit_day(text)
    assert found is None or 1 <= found[0] <= 31


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="0123456789,.:-元块毛万千百十亿一二两三五零号日月每改到点半", max_size=80))
def test_number_readers_survive_numeral_walls(text):
    found = find_debit_day(text)
    assert found is None or 1 <= found[0] <= 31
    extract_times(text, datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI))


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.text(alphabet="我想在要约去办的 ", max_size=5),
    suffix=st.text(alphabet="去办理可以吗?的 ", max_size=5),
    bad=st.sampled_from(["2月30日", "2月31号", "4月31号", "6月31日", "9月31号", "11月31日",
                         "13月1日", "0月5号", "2027年2月29日", "二月三十号", "十三月一号"]),
    now=reference_times,
)
def test_invalid_dates_give_no_value(prefix, suffix, bad, now):
    text = prefix + bad + suffix
    matches = extract_times(text, now)
    start = len(prefix)
    for match in matches:
        overlaps = match.start < start + len(bad) and match.end > start
        assert not overlaps, (text, match)


@settings(max_examples=200, deadline=None)
@given(
    month=st.integers(1, 12), day=st.integers(1, 31), now=reference_times,
)
def test_every_valid_month_day_resolves_to_itself(month, day, now):
    text = f"{month}月{day}日"
    matches = extract_times(text, now)
    try:
        datetime(2028, month, day)   # 2028 is a leap year: the widest calendar
    except ValueError:
        assert matches == []
        return
    if not matches:   # 2月29日 outside a leap year
        assert (month, day) == (2, 29)
        return
    (match,) = matches
    resolved = datetime.fromisoformat(match.value)
    assert (resolved.month, resolved.day) == (month, day)
    assert resolved.date() >= now.date()
