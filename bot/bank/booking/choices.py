"""How a customer picks a time slot in words, and which slots to offer them.

Customers do not only click: they say 下午, 十点那个, 第二个, 最后那个, 随便,
更多时间 or 换一天. This module turns such an answer into one decision over the
slots on offer, and pages the offer (at most `PAGE_SIZE` at a time, in the
part of the day the customer asked for). Positions (第二个) and changes of an
earlier answer (改成明天) are read the same way for every form's choices. It
knows nothing of Rasa; the actions pass the customer's text and the clock time
the NLU found.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import time
from typing import Callable, Optional, Sequence, TypeVar

from bot.bank.capacity.slots import SlotView

PAGE_SIZE = 8
T = TypeVar("T")
NOON = time(12, 0)


class DayPart(str, enum.Enum):
    """The part of the day a customer prefers; the slot's start decides where it falls."""

    MORNING = "morning"
    AFTERNOON = "afternoon"

    def holds(self, slot: SlotView) -> bool:
        return (slot.starts_at < NOON) == (self is DayPart.MORNING)


class Kind(str, enum.Enum):
    """What an answer to "which time?" asks for."""

    SLOT = "slot"            # one slot on offer: `Pick.slot`
    EARLIEST = "earliest"    # 随便 / 都行 / 最早的: the earliest, and say which
    PART = "part"            # 上午 / 下午: narrow the offer to `Pick.part`
    MORE = "more"            # 更多时间: the next page
    OTHER_DAY = "other_day"  # 换一天: ask the day again
    NO_MATCH = "no_match"    # a time or a number that is not on offer
    UNKNOWN = "unknown"      # nothing about a slot


@dataclass(frozen=True)
class Pick:
    kind: Kind
    slot: Optional[SlotView] = None
    part: Optional[DayPart] = None


@dataclass(frozen=True)
class Offer:
    """One page of slots, and whether more pages follow."""

    slots: Sequence[SlotView]
    page: int
    has_more: bool
    part: Optional[DayPart]


MORNING_WORDS = re.compile(r"上午|早上|早晨|早一点|早点|早些|上半天")
AFTERNOON_WORDS = re.compile(r"下午|午后|晚一点|晚点|晚些|下半天")
ANY_WORDS = re.compile(r"随便|都行|都可以|哪个都|无所谓|最早|尽快|越早越好|越快越好")
MORE_WORDS = re.compile(r"更多|还有别的|还有其他|其他时间|别的时间|后面的|下一页")
OTHER_DAY_WORDS = re.compile(r"换(一|个)?天|换(一|个)?日子|别的日子|另一天|其他日子")
LAST_WORDS = re.compile(r"最后(一|那|这)?个|最晚(的|那个)?")
CHANGE_WORDS = re.compile(r"改成|改到|改为|改在|换成|换到|换去|换在|不是.{1,10}是|还是.{0,4}(换|改)|换个网点|改一下")
CHANGE_TARGET = re.compile(r"改成|改到|改为|改在|换成|换到|换去|换在|是")
CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
ORDINAL = re.compile(r"第\s*([0-9]+|[一二两三四五六七八九十])\s*(个|项|条)?")


def _number(token: str) -> int:
    return int(token) if token.isdigit() else CHINESE_DIGITS[token]


def part_of_day(text: str) -> Optional[DayPart]:
    """上午 / 早一点 → morning, 下午 / 晚一点 → afternoon; None when neither (or both) is said."""
    morning, afternoon = bool(MORNING_WORDS.search(text)), bool(AFTERNOON_WORDS.search(text))
    if morning == afternoon:
        return None
    return DayPart.MORNING if morning else DayPart.AFTERNOON


def offer(free: Sequence[SlotView], part: Optional[DayPart] = None, page: int = 0) -> Offer:
    """Page `page` of the free slots in `part` of the day (all of them when none there fit)."""
    fitting = [slot for slot in free if part is None or part.holds(slot)]
    if not fitting:
        fitting, part = list(free), None
    pages = max(1, -(-len(fitting) // PAGE_SIZE))
    page = page % pages
    shown = fitting[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    return Offer(shown, page, pages > 1, part)


NOT_OFFERED = -1


def position(text: str, count: int) -> Optional[int]:
    """The index of the choice 第二个 / 最后那个 names among `count` on offer; None when no
    position is said, `NOT_OFFERED` when it is past the end. (A bare "2" answering a numbered
    list is read where the list is known: actions/loops.py, WeChat's channel.)"""
    if LAST_WORDS.search(text):
        return count - 1 if count else NOT_OFFERED
    found = ORDINAL.search(text)
    if not found:
        return None
    number = _number(found.group(1))
    return number - 1 if 1 <= number <= count else NOT_OFFERED


def choose(text: str, options: Sequence[T], named: Optional[Callable[[T], bool]] = None) -> Optional[T]:
    """The one option a customer names by its position (第二个, 最后那个) or in other words
    (`named`: 福田那个, 房贷那笔); None when that is unclear or past the end of the list.
    Every form's list of choices is read this way: bookings, loans, reasons, callback times."""
    index = position(text, len(options))
    if index is not None:
        return options[index] if index != NOT_OFFERED else None
    matching = [option for option in options if named and named(option)]
    return matching[0] if len(matching) == 1 else None


def changes_answer(text: str) -> bool:
    """改成明天, 换到南山支行, 不是面签是开户: the customer changes an answer on purpose."""
    return bool(CHANGE_WORDS.search(text))


def after_change(text: str) -> str:
    """What the answer is changed to: the words after the last 是 / 改成 / 换到."""
    found = list(CHANGE_TARGET.finditer(text))
    return text[found[-1].end():] if found else text


def _at_clock(clock: time, free: Sequence[SlotView]) -> Pick:
    match = next((slot for slot in free if slot.starts_at <= clock < slot.ends_at), None)
    return Pick(Kind.SLOT, match) if match else Pick(Kind.NO_MATCH)


def read_pick(text: str, shown: Sequence[SlotView], free: Sequence[SlotView],
              clock: Optional[time] = None) -> Pick:
    """What the customer's answer to "which time?" chooses.

    `shown` is the page they were offered (ordinals count in it), `free` every
    free slot of the day (a clock time may name one on another page), `clock`
    the time of day the NLU read in the message.
    """
    if OTHER_DAY_WORDS.search(text):
        return Pick(Kind.OTHER_DAY)
    if MORE_WORDS.search(text):
        return Pick(Kind.MORE)
    index = position(text, len(shown))
    if index is not None:
        return Pick(Kind.SLOT, shown[index]) if index != NOT_OFFERED else Pick(Kind.NO_MATCH)
    if clock is not None:
        return _at_clock(clock, free)
    if ANY_WORDS.search(text):
        return Pick(Kind.EARLIEST, min(free, key=lambda s: (s.day, s.starts_at))) if free else Pick(Kind.NO_MATCH)
    part = part_of_day(text)
    if part:
        return Pick(Kind.PART, part=part)
    return Pick(Kind.UNKNOWN)
