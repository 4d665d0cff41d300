"""Picking a slot in words: parts of the day, times, ordinals, "any", paging."""
from __future__ import annotations

from datetime import date, time

import pytest

from bot.bank.booking.choices import (
    NOT_OFFERED, PAGE_SIZE, DayPart, Kind, after_change, changes_answer, offer, part_of_day, position, read_pick,
)
from bot.bank.capacity.slots import SlotView

DAY = date(2026, 9, 30)
STARTS = [time(9, 0), time(9, 30), time(10, 0), time(10, 30), time(11, 0), time(11, 30),
          time(13, 30), time(14, 0), time(14, 30), time(15, 0), time(15, 30), time(16, 0)]


def slot(number: int, starts: time) -> SlotView:
    ends = time(starts.hour + (starts.minute + 30) // 60, (starts.minute + 30) % 60)
    return SlotView(number, "luohu", "开户", DAY, starts, ends, 3)


FREE = [slot(n, t) for n, t in enumerate(STARTS, 1)]


def test_an_afternoon_preference_offers_only_the_afternoon():
    shown = offer(FREE, DayPart.AFTERNOON)
    assert [s.starts_at for s in shown.slots] == STARTS[6:] and not shown.has_more


def test_the_whole_day_is_paged_eight_at_a_time_and_wraps_around():
    first, second = offer(FREE), offer(FREE, page=1)
    assert len(first.slots) == PAGE_SIZE and first.has_more
    assert [s.starts_at for s in second.slots] == STARTS[PAGE_SIZE:]
    assert offer(FREE, page=2).slots == first.slots


def test_a_part_of_the_day_with_nothing_left_falls_back_to_the_whole_day():
    morning_only = FREE[:6]
    shown = offer(morning_only, DayPart.AFTERNOON)
    assert shown.part is None and list(shown.slots) == morning_only


@pytest.mark.parametrize("said, part", [("下午", DayPart.AFTERNOON), ("上午吧", DayPart.MORNING),
                                        ("早一点的", DayPart.MORNING), ("晚点也行", DayPart.AFTERNOON),
                                        ("上午下午都行", None), ("好的", None)])
def test_parts_of_the_day_in_words(said, part):
    assert part_of_day(said) == part


@pytest.mark.parametrize("said, clock, starts", [("十点那个", time(10, 0), time(10, 0)),
                                                ("10点半", time(10, 30), time(10, 30)),
                                                ("两点的", time(14, 0), time(14, 0)),
                                                ("第二个", None, time(9, 30)),
                                                ("第3个吧", None, time(10, 0)),
                                                ("最后那个", None, STARTS[7])])
def test_a_time_or_a_position_picks_one_slot(said, clock, starts):
    shown = offer(FREE).slots
    pick = read_pick(said, shown, FREE, clock)
    assert pick.kind is Kind.SLOT and pick.slot.starts_at == starts


def test_a_bare_number_is_no_position_here():
    """"2" answers a numbered list where the list is known (actions/loops.py, WeChat's channel);
    "3号" is a day of the month."""
    shown = offer(FREE).slots
    assert read_pick("2", shown, FREE).kind is Kind.UNKNOWN and read_pick("3号", shown, FREE).kind is Kind.UNKNOWN


@pytest.mark.parametrize("said", ["随便", "都行", "最早的", "哪个都可以"])
def test_any_takes_the_earliest_free_slot(said):
    pick = read_pick(said, offer(FREE, DayPart.AFTERNOON).slots, FREE)
    assert pick.kind is Kind.EARLIEST and pick.slot == FREE[0]


@pytest.mark.parametrize("said, kind", [("更多时间", Kind.MORE), ("还有别的吗", Kind.MORE),
                                        ("换一天", Kind.OTHER_DAY), ("下午", Kind.PART),
                                        ("怎么去啊", Kind.UNKNOWN)])
def test_paging_another_day_and_narrowing(said, kind):
    assert read_pick(said, offer(FREE).slots, FREE).kind is kind


def test_a_time_with_no_slot_is_said_to_be_taken_not_guessed():
    assert read_pick("八点", offer(FREE).slots, FREE, time(8, 0)).kind is Kind.NO_MATCH


@pytest.mark.parametrize("said, changed_to", [("改成明天", "明天"), ("换到南山支行吧", "南山支行吧"),
                                              ("不是面签是开户", "开户")])
def test_a_change_of_an_earlier_answer_is_told_and_what_it_becomes(said, changed_to):
    assert changes_answer(said) and after_change(said) == changed_to


@pytest.mark.parametrize("said", ["下午", "明天", "南山支行远吗", "10点半"])
def test_an_answer_alone_is_not_a_change(said):
    assert not changes_answer(said)


@pytest.mark.parametrize("said, count, index", [("第一个", 2, 0), ("最后那个", 3, 2), ("第五个", 2, NOT_OFFERED),
                                                ("福田那个", 2, None)])
def test_positions_among_any_choices(said, count, index):
    assert position(said, count) == index
