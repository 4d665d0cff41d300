"""Chinese date/time, debit-day and amount understanding for the assistant.

Plain Python with no Rasa imports: the time extractor component wraps
``extract_times`` and turns every ``TimeMatch`` into a Rasa entity with
``TimeMatch.to_entity()``, in the shape Rasa's Duckling extractor produces, so
forms and actions that read Duckling values keep working without a Duckling
server.

Input is expected to be normalised already (simplified characters, half-width
digits and punctuation). Anything else simply yields no match: no function in
this module raises on arbitrary text.

Resolution rules (the choices a customer's words leave open)
-------------------------------------------------------------
* Weeks start on Monday. ``周三`` alone is the nearest coming Wednesday, today
  included; ``这周三`` / ``本周三`` is the Wednesday of the current week (it may
  be past); ``下周三`` is the Wednesday of next week, so said on a Sunday it is
  three days later; ``下下周三`` two weeks on; ``上周三`` last week.
* ``11月25号`` without a year is the next such day, today included. If that
  day does not exist in the year it falls in (``2月29日`` outside a leap year)
  there is no match, rather than a date years away.
* ``25号`` alone is today if today is the 25th, else this month if still ahead,
  else the next month that has a 25th (``31号`` skips 30-day months).
* ``月底`` / ``月末`` is the last day of the month (a day, not a range).
* ``本周``/``下周`` are Monday-to-Monday ranges; ``周末`` is Saturday to Monday of
  the current week (said on a Sunday, that includes today).
* ``月初`` is the range 1st-5th (``to`` is the 6th, exclusive): this month while
  today is the 5th or earlier, else next month.
* ``一个月后`` keeps the day of month, clamped to the month's end
  (31 January plus one month is 28/29 February).
* Day parts are ranges with an exclusive end: 凌晨 00-06, 早上/早晨/明早 06-12,
  上午 09-12, 中午 12-14, 下午 12-18, 傍晚 17-19, 晚上/今晚 18-24.
* A clock time or day part without a date means today if it is still ahead,
  else tomorrow (a day part counts as ahead until its end).
* A bare hour 1-6 with no day part is read as afternoon (``两点`` is 14:00):
  branches are closed at 2 a.m. and customers do not say 下午 every time.
  ``03:00`` written with a leading zero is taken literally.
* ``一点`` alone is usually "a little" (快一点, 便宜一点), so it only counts as a
  time next to a day part (下午一点) or with minutes (一点半, 一点钟); after a
  bare date (明天一点) only the date is kept.
* In a clock range (``明天下午两点到三点``, ``9:00-17:00``) the second time takes
  the day and day part of the first; each end is its own match.
* ``每周三`` (every Wednesday), ``每月28号`` and ``一周三次`` are recurrences or
  counts, not dates: no match (find_debit_day still reads 每月28号 as 28).
* Invalid dates (2月30日, 13月1日, 4月31号) produce no match at all, and none of
  their pieces is matched on its own either.
* Not covered: festivals (国庆, 春节), 月中/上旬, "下个月第一个周一", vague spans
  (这两天, 过两天, 最近).

Grains are "day" for dates and multi-day ranges (weeks, months), "hour" for
day parts and whole hours, "minute" when minutes were said (半, 一刻, 10分,
14:00) and for relative hour/minute offsets (两小时后).
"""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Callable, Dict, List, Mapping, Optional, Tuple, Union
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")

# ---------------------------------------------------------------------------
# Public result type
# ---------------------------------------------------------------------------

RangeValue = Mapping[str, str]


@dataclass(frozen=True)
class TimeMatch:
    """One time expression found in a message.

    ``value`` is a Duckling-style ISO string ("2026-11-25T15:00:00.000+08:00")
    or, for ranges, a dict ``{"from": iso, "to": iso}`` with ``to`` exclusive.
    """

    start: int
    end: int
    text: str
    value: Union[str, RangeValue] = field(hash=False)
    grain: str

    @property
    def is_interval(self) -> bool:
        """True for ranges (上午, 下周, 月初), False for single instants."""
        return not isinstance(self.value, str)

    def to_entity(self) -> Dict[str, object]:
        """The Rasa entity dict, shaped like Rasa's Duckling extractor output."""
        if isinstance(self.value, str):
            value: object = self.value
            info: Dict[str, object] = {
                "values": [{"value": self.value, "grain": self.grain, "type": "value"}],
                "value": self.value,
                "grain": self.grain,
                "type": "value",
            }
        else:
            start = {"value": self.value["from"], "grain": self.grain}
            end = {"value": self.value["to"], "grain": self.grain}
            value = {"from": self.value["from"], "to": self.value["to"]}
            info = {
                "values": [{"from": dict(start), "to": dict(end), "type": "interval"}],
                "from": start,
                "to": end,
                "grain": self.grain,
                "type": "interval",
            }
        return {
            "entity": "time",
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "value": value,
            "confidence": 1.0,
            "extractor": None,
            "additional_info": info,
        }


# ---------------------------------------------------------------------------
# Numerals
# ---------------------------------------------------------------------------

_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_TENS_SHORTHAND = {"廿": 20, "卅": 30}


def cn_int(text: str) -> Optional[int]:
    """Read a small integer written in ASCII digits or Chinese numerals.

    Dates and clock times need only 0-9999 (年 may be 二〇二六); we parse these
    ourselves because it is fast and returns None instead of raising on the
    odd strings a greedy regex can capture ("十十", "两三").
    """
    if not text:
        return None
    if text.isascii():
        return int(text) if text.isdigit() else None
    if text[0] in _CN_TENS_SHORTHAND:
        return _cn_shorthand_tens(text)
    if len(text) > 1 and all(ch in _CN_DIGITS for ch in text):
        return _cn_digit_sequence(text)
    return _cn_positional(text)


def _cn_shorthand_tens(text: str) -> Optional[int]:
    """廿五 = 25, 卅一 = 31: the old shorthand elderly customers still write."""
    base = _CN_TENS_SHORTHAND[text[0]]
    rest = text[1:]
    if not rest:
        return base
    if len(rest) == 1 and rest in _CN_DIGITS and rest not in "零〇":
        return base + _CN_DIGITS[rest]
    return None


def _cn_digit_sequence(text: str) -> Optional[int]:
    """二〇二六 = 2026, 零五 = 5: digit-by-digit reading; 两 never appears in it."""
    if "两" in text or len(text) > 4:
        return None
    if text[0] not in "零〇" and len(text) != 4:
        # "二三" is not a number people say for a date or a clock time.
        return None
    return int("".join(str(_CN_DIGITS[ch]) for ch in text))


def _cn_positional(text: str) -> Optional[int]:
    """十五 = 15, 二十八 = 28, 一百零五 = 105: units must strictly decrease."""
    total, pending, last_unit = 0, None, 10_000
    for ch in text:
        if ch in _CN_DIGITS:
            if pending not in (None, 0):
                return None
            pending = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            unit = _CN_UNITS[ch]
            if unit >= last_unit:
                return None
            total += (1 if pending is None else pending) * unit
            pending, last_unit = None, unit
        else:
            return None
    return total + (pending or 0)


# ---------------------------------------------------------------------------
# Named sub-patterns
# ---------------------------------------------------------------------------

_CN_NUMERAL = "零〇一二两三四五六七八九十"
YEAR_NUM = r"(?:[0-9]{4}|[0-9]{2}|[零〇一二三四五六七八九]{4})"
YEAR_REL = r"(?:今|明|去|后|前)"
MONTH_NUM = r"(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})"
DAY_NUM = r"(?:[0-9]{1,2}|[零〇一二两三四五六七八九十廿卅]{1,4})"
DAY_NUM_TEN = r"(?:[二三]?十[一二三四五六七八九]?|[廿卅][一二三四五六七八九]?)"
HOUR_NUM = r"(?:[0-9]{1,2}|[零一二两三四五六七八九十]{1,3})"
MINUTE_NUM = r"(?:[0-9]{1,2}|[零〇一二三四五六七八九十]{1,4})"
# minutes said without 分 must look like minutes: 05, 20, 零五, 二十, 四十五
MINUTE_BARE = r"(?:[0-9]{2}|零[一二三四五六七八九]|[一二三四五]?十[一二三四五六七八九]?)"
OFFSET_NUM = r"(?:[0-9]{1,3}|[零一二两三四五六七八九十百]{1,4}|半)"

# "问一下下周三" / "问一下周三": that 下 belongs to 一下 ("a moment"), not to 下周.
YIXIA_GUARD = r"(?!(?<=一)下)"
MONTH_REF = r"(?:下下个|下下|下个|下|上个|上|这个|这|本)"
WEEK_REF = r"(?:下下个|下下|下个|下|上上个|上上|上个|上|这个|这|本)"
WEEK_WORD = r"(?:周|星期|礼拜)"
WEEKDAY_CHAR = r"[一二三四五六日天1-7]"
DAY_SUFFIX = r"[日号]"

# A number followed by one of these is a quantity, not a date or a time.
QUANTITY_AFTER = r"(?:个|天|日|周|万|千|百|元|块|次|小时|分|年|月|岁|人|倍|成|折|期|点|位|名|种|张|笔|家|%)"
# 一周三次 / 两周五天: a count of weeks, not a weekday.
COUNT_PHRASE = rf"(?<=[{_CN_NUMERAL}0-9]){WEEK_WORD}{WEEKDAY_CHAR}(?:次|回|遍|趟|天|个)"
# 号 after an address, a metro line or a counter is not a day of the month.
NOT_A_DAY_BEFORE = r"[0-9零〇一二两三四五六七八九十百千万廿卅月路街道巷弄号楼栋幢座第.]"
NOT_A_DAY_AFTER = r"(?:[线楼门柜窗台口院房桌座机厅位箱店码子]|\s*(?:内|以内|之内))"
AMOUNT_AFTER = r"[0-9零〇一二两三四五六七八九十万千亿元块倍%个米]"

_PATTERNS: List[Tuple[str, str]] = [
    # 2026-11-25, 2026/11/25, 2026.11.25
    ("iso_date",
     r"(?<![0-9])(?P<iso_y>[0-9]{4})(?P<iso_sep>[-/.])(?P<iso_m>[0-9]{1,2})"
     r"(?P=iso_sep)(?P<iso_d>[0-9]{1,2})(?![0-9])" + DAY_SUFFIX + "?"),
    # 2026年11月25日, 明年3月5号, 十一月二十五, 11月25号
    ("abs_date",
     rf"(?:(?:(?P<abs_y>{YEAR_NUM})|(?P<abs_yrel>{YEAR_REL}))年)?"
     rf"(?<![0-9])(?P<abs_m>{MONTH_NUM})月份?的?(?P<abs_d>{DAY_NUM})"
     rf"(?:{DAY_SUFFIX}|(?![0-9万千百元块]))"),
    # 月底, 下个月底, 11月初, 这个月末
    ("month_edge",
     rf"(?:{YIXIA_GUARD}(?P<me_ref>{MONTH_REF})|(?:(?:(?P<me_y>{YEAR_NUM})|(?P<me_yrel>{YEAR_REL}))年)?"
     rf"(?<![0-9])(?P<me_m>{MONTH_NUM}))?月份?(?P<me_edge>底|末|初)"),
    # 下个月5号, 本月15日, 这个月的28号
    ("month_ref_day",
     rf"{YIXIA_GUARD}(?P<mr_ref>{MONTH_REF})月的?(?P<mr_d>{DAY_NUM}){DAY_SUFFIX}"),
    # 3天后, 一周后, 两个月以后, 半小时后, 三天前
    ("offset",
     rf"(?<![0-9])(?P<ro_n>{OFFSET_NUM})(?P<ro_unit>天|周|个?星期|个?礼拜|个月|年|个?小时|个?钟头|分钟"
     rf"|日(?=以后|之后|后))(?P<ro_dir>以后|之后|后|以前|之前|前)"),
    # 今天, 明天, 大后天, 明早, 今晚
    ("rel_day",
     r"(?P<rd>大大后天|大后天|后天|明天|明日|明儿|今天|今日|今儿|昨天|昨日|昨儿|大前天|前天"
     r"|今早上|明早上|今早|今晨|明早|明晨|今晚|今夜|明晚|明夜|昨晚|昨夜)"),
    # 周三, 下周三, 这个星期五, 礼拜天
    ("weekday",
     rf"(?<!每)(?!{COUNT_PHRASE})(?:{YIXIA_GUARD}(?P<wd_ref>{WEEK_REF}))?{WEEK_WORD}(?P<wd_d>{WEEKDAY_CHAR})"),
    # 本周, 下个礼拜, 下周末, 周末
    ("week_range",
     rf"(?<!每)(?:{YIXIA_GUARD}(?P<wk_ref>{WEEK_REF}){WEEK_WORD}(?P<wk_end>末)?|{WEEK_WORD}(?P<wk_end2>末))"),
    # 这个月, 下个月, 3月份, 2027年1月
    ("month_range",
     rf"(?:{YIXIA_GUARD}(?P<mg_ref>{MONTH_REF})月|(?:(?:(?P<mg_y>{YEAR_NUM})|(?P<mg_yrel>{YEAR_REL}))年)?"
     rf"(?<![0-9{_CN_NUMERAL}])(?P<mg_m>{MONTH_NUM})月份?(?![0-9{_CN_NUMERAL}]))"),
    # 11/25, 11-25
    ("slash_date",
     rf"(?<![0-9/.:\-])(?P<sd_m>[0-9]{{1,2}})[/\-](?P<sd_d>[0-9]{{1,2}})"
     rf"(?![0-9/.:\-%])(?!\s*{QUANTITY_AFTER})"),
    # 28号, 二十八号, 廿五号, 15日
    ("bare_day",
     rf"(?<!{NOT_A_DAY_BEFORE})(?:(?P<bd_a>[0-9]{{1,2}}){DAY_SUFFIX}|(?P<bd_c>{DAY_NUM})号"
     rf"|(?P<bd_t>{DAY_NUM_TEN})日)(?!{NOT_A_DAY_AFTER})"),
    # 14:00, 9:30
    ("clock_colon",
     r"(?<![0-9:：.])(?P<kc_h>[0-9]{1,2})[:：](?P<kc_m>[0-9]{2})(?![0-9:：])"),
    # 三点, 十点半, 两点一刻, 3点15分, 三点二十, 9点整, 15时30分
    ("clock_cn",
     rf"(?P<kn_h>{HOUR_NUM})(?:点钟|点|(?P<kn_shi>时)(?=[0-9{_CN_NUMERAL}]+分))"
     rf"(?:(?P<kn_half>半)|(?P<kn_quarter>[一三])刻|(?P<kn_exact>整)"
     rf"|过?(?P<kn_min>{MINUTE_NUM})分钟?|(?P<kn_min_bare>{MINUTE_BARE}))?"
     rf"(?!{AMOUNT_AFTER})"),
    # 上午, 下午, 晚上, 早9点 (早/晚 alone only before a clock time)
    ("daypart",
     r"(?P<dp>凌晨|清晨|早晨|早上|一早|大早|上午|中午|午间|下午|傍晚|黄昏|晚上|晚间|夜里|夜间"
     rf"|[早晚](?=\s*{HOUR_NUM}(?:点|[:：])))"),
]

MASTER_PATTERN = re.compile("|".join(f"(?P<{name}>{body})" for name, body in _PATTERNS))

# What may stand between parts of one expression: "明天 下午", "下周三的下午".
JOINER = re.compile(r"[\s的,，]{0,2}")
WEEKDAY_JOINER = re.compile(r"[\s(（,，]{0,2}")
# What joins the two ends of a clock range: "两点到三点", "9:00-17:00".
RANGE_JOINER = re.compile(r"\s*(?:到|至|-|~|～|—)\s*")
# 早/晚 on their own ("早一点", "太晚了") are not day parts; before a clock they are.
BARE_DAYPARTS = frozenset({"早", "晚"})


# ---------------------------------------------------------------------------
# Day parts
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _DayPart:
    """A named stretch of the day; ``kind`` drives the 12-hour reading."""

    kind: str
    start_hour: int
    end_hour: int


_DAYPARTS: Dict[str, _DayPart] = {}
for _words, _part in [
    (("凌晨",), _DayPart("small_hours", 0, 6)),
    (("清晨", "早晨", "早上", "一早", "大早", "早"), _DayPart("morning", 6, 12)),
    (("上午",), _DayPart("forenoon", 9, 12)),
    (("中午", "午间"), _DayPart("noon", 12, 14)),
    (("下午",), _DayPart("afternoon", 12, 18)),
    (("傍晚", "黄昏"), _DayPart("dusk", 17, 19)),
    (("晚上", "晚间", "夜里", "夜间", "晚"), _DayPart("evening", 18, 24)),
]:
    for _word in _words:
        _DAYPARTS[_word] = _part

_REL_DAYS: Dict[str, Tuple[int, Optional[str]]] = {
    "大大后天": (4, None), "大后天": (3, None), "后天": (2, None),
    "明天": (1, None), "明日": (1, None), "明儿": (1, None),
    "今天": (0, None), "今日": (0, None), "今儿": (0, None),
    "昨天": (-1, None), "昨日": (-1, None), "昨儿": (-1, None),
    "前天": (-2, None), "大前天": (-3, None),
    "今早上": (0, "早上"), "明早上": (1, "早上"),
    "今早": (0, "早上"), "今晨": (0, "早上"), "明早": (1, "早上"), "明晨": (1, "早上"),
    "今晚": (0, "晚上"), "今夜": (0, "晚上"), "明晚": (1, "晚上"), "明夜": (1, "晚上"),
    "昨晚": (-1, "晚上"), "昨夜": (-1, "晚上"),
}

_WEEK_REF_SHIFT = {
    None: None, "这": 0, "这个": 0, "本": 0, "下": 1, "下个": 1, "下下": 2, "下下个": 2,
    "上": -1, "上个": -1, "上上": -2, "上上个": -2,
}
_MONTH_REF_SHIFT = {
    "这": 0, "这个": 0, "本": 0, "下": 1, "下个": 1, "下下": 2, "下下个": 2, "上": -1, "上个": -1,
}
_WEEKDAY_INDEX = {
    "一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
    "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6,
}
_YEAR_REL_SHIFT = {"今": 0, "明": 1, "后": 2, "去": -1, "前": -2}

EARLY_MONTH_LAST_DAY = 5  # 月初 = 1st-5th


# ---------------------------------------------------------------------------
# Atoms: the pieces the master pattern finds, before they are combined
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Clock:
    """A clock reading as said: hour 0-24, minute 0-59."""

    hour: int
    minute: int
    precise: bool        # minutes were said: grain minute
    literal: bool        # 14:00 or 03:00 style: no afternoon guessing
    weak: bool           # bare 一点, usually "a little"


@dataclass(frozen=True)
class _Atom:
    """One recognised piece; exactly one of the payload fields is set.

    ``invalid`` atoms (2月30日) keep their span so nothing inside them matches,
    but produce no TimeMatch and join nothing.
    """

    start: int
    end: int
    day: Optional[date] = None
    daypart: Optional[str] = None
    clock: Optional[_Clock] = None
    days: Optional[Tuple[date, date]] = None        # [from, to) multi-day range
    days_grain: str = "day"
    moment: Optional[datetime] = None
    moment_grain: str = "minute"
    is_weekday: bool = False
    bare_weekday: bool = False
    invalid: bool = False


_Handler = Callable[["re.Match[str]", datetime], Optional[_Atom]]


# ---------------------------------------------------------------------------
# Calendar helpers
# ---------------------------------------------------------------------------

def _safe_date(year: int, month: int, day: int) -> Optional[date]:
    """date() that answers None for 2月30日 instead of raising."""
    try:
        return date(year, month, day)
    except (ValueError, OverflowError):
        return None


def _shift_month(year: int, month: int, delta: int) -> Tuple[int, int]:
    """(year, month) moved by ``delta`` months."""
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _month_last_day(year: int, month: int) -> Optional[date]:
    """Last day of a month (月底), None outside the calendar's years."""
    if not 1 <= year <= 9999 or not 1 <= month <= 12:
        return None
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months_clamped(day: date, months: int) -> Optional[date]:
    """Same day of month ``months`` later, clamped to that month's end."""
    year, month = _shift_month(day.year, day.month, months)
    last = _month_last_day(year, month)
    if last is None:
        return None
    return last.replace(day=min(day.day, last.day))


def _year_of_next(today: date, month: int, day: int) -> int:
    """Year in which month/day next occurs, today included."""
    return today.year if (month, day) >= (today.month, today.day) else today.year + 1


def _resolve_year(match: "re.Match[str]", prefix: str, today: date) -> Optional[int]:
    """Explicit year (2026年, 26年, 二〇二六年, 明年) or None if none was said."""
    said = match.group(f"{prefix}_y")
    if said:
        year = cn_int(said)
        if year is None:
            return None
        return 2000 + year if len(said) == 2 else year
    relative = match.group(f"{prefix}_yrel")
    if relative:
        return today.year + _YEAR_REL_SHIFT[relative]
    return None


def _year_was_said(match: "re.Match[str]", prefix: str) -> bool:
    """Whether the matched text carried a year (then a bad year is invalid)."""
    return bool(match.group(f"{prefix}_y") or match.group(f"{prefix}_yrel"))


def _month_day(year: Optional[int], month: Optional[int], day: Optional[int],
               today: date) -> Optional[date]:
    """A calendar date from parts; without a year, the next occurrence."""
    if month is None or day is None or not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    if year is None:
        year = _year_of_next(today, month, day)
    return _safe_date(year, month, day)


def _week_monday(today: date) -> date:
    """Monday of the week containing ``today`` (weeks start on Monday)."""
    return today - timedelta(days=today.weekday())


# ---------------------------------------------------------------------------
# Handlers: one per named pattern
# ---------------------------------------------------------------------------

def _invalid(match: "re.Match[str]") -> _Atom:
    """An atom that swallows its text and yields nothing."""
    return _Atom(match.start(), match.end(), invalid=True)


def _day_atom(match: "re.Match[str]", day: Optional[date]) -> _Atom:
    """A single-day atom, or an invalid one when the date does not exist."""
    if day is None:
        return _invalid(match)
    return _Atom(match.start(), match.end(), day=day)


def _handle_iso_date(match: "re.Match[str]", now: datetime) -> _Atom:
    """2026-11-25: the year is explicit, so only validity matters."""
    year, month, day = (int(match.group(g)) for g in ("iso_y", "iso_m", "iso_d"))
    return _day_atom(match, _safe_date(year, month, day))


def _handle_abs_date(match: "re.Match[str]", now: datetime) -> _Atom:
    """11月25号 / 2026年11月25日: next occurrence when no year is given."""
    today = now.date()
    year = _resolve_year(match, "abs", today)
    if year is None and _year_was_said(match, "abs"):
        return _invalid(match)
    day = _month_day(year, cn_int(match.group("abs_m")), cn_int(match.group("abs_d")), today)
    return _day_atom(match, day)


def _handle_month_edge(match: "re.Match[str]", now: datetime) -> _Atom:
    """月底 is a day (last of the month); 月初 is the 1st-5th range."""
    today = now.date()
    year_month = _edge_month(match, today)
    if year_month is None:
        return _invalid(match)
    year, month = year_month
    last = _month_last_day(year, month)
    if last is None:
        return _invalid(match)
    if match.group("me_edge") in ("底", "末"):
        return _Atom(match.start(), match.end(), day=last)
    first = date(year, month, 1)
    return _Atom(match.start(), match.end(),
                 days=(first, first + timedelta(days=EARLY_MONTH_LAST_DAY)))


def _edge_month(match: "re.Match[str]", today: date) -> Optional[Tuple[int, int]]:
    """Which month 月底/月初 refers to: said, shifted (下个月), or implied."""
    ref = match.group("me_ref")
    if ref:
        return _shift_month(today.year, today.month, _MONTH_REF_SHIFT[ref])
    month_text = match.group("me_m")
    if month_text:
        month = cn_int(month_text)
        if month is None or not 1 <= month <= 12:
            return None
        year = _resolve_year(match, "me", today)
        if year is None and _year_was_said(match, "me"):
            return None
        if year is None:
            year = today.year if month >= today.month else today.year + 1
        return year, month
    if match.group("me_edge") == "初" and today.day > EARLY_MONTH_LAST_DAY:
        return _shift_month(today.year, today.month, 1)
    return today.year, today.month


def _handle_month_ref_day(match: "re.Match[str]", now: datetime) -> _Atom:
    """下个月5号: the day in the month named relative to this one."""
    today = now.date()
    year, month = _shift_month(today.year, today.month, _MONTH_REF_SHIFT[match.group("mr_ref")])
    day = cn_int(match.group("mr_d"))
    return _day_atom(match, None if day is None else _safe_date(year, month, day))


def _handle_offset(match: "re.Match[str]", now: datetime) -> _Atom:
    """3天后 / 两个月以后 / 半小时后: a date, or an instant for hours/minutes."""
    unit = match.group("ro_unit").lstrip("个")
    sign = -1 if match.group("ro_dir").endswith("前") else 1
    amount_text = match.group("ro_n")
    if amount_text == "半":
        return _half_offset(match, now, unit, sign)
    amount = cn_int(amount_text)
    if amount is None:
        return _invalid(match)
    return _whole_offset(match, now, unit, sign * amount)


def _whole_offset(match: "re.Match[str]", now: datetime, unit: str, amount: int) -> _Atom:
    """Whole-number offsets; days/weeks/months/years give a day."""
    today = now.date()
    if unit in ("天", "日"):
        return _day_atom(match, today + timedelta(days=amount))
    if unit in ("周", "星期", "礼拜"):
        return _day_atom(match, today + timedelta(weeks=amount))
    if unit == "月":
        return _day_atom(match, _add_months_clamped(today, amount))
    if unit == "年":
        return _day_atom(match, _add_months_clamped(today, 12 * amount))
    minutes = amount * 60 if unit in ("小时", "钟头") else amount
    moment = now.replace(second=0, microsecond=0) + timedelta(minutes=minutes)
    return _Atom(match.start(), match.end(), moment=moment)


def _half_offset(match: "re.Match[str]", now: datetime, unit: str, sign: int) -> _Atom:
    """半个月 = 15 days, 半年 = 6 months, 半小时 = 30 minutes; 半天 is too vague."""
    if unit == "月":
        return _day_atom(match, now.date() + timedelta(days=15 * sign))
    if unit == "年":
        return _day_atom(match, _add_months_clamped(now.date(), 6 * sign))
    if unit in ("小时", "钟头"):
        moment = now.replace(second=0, microsecond=0) + timedelta(minutes=30 * sign)
        return _Atom(match.start(), match.end(), moment=moment)
    return _invalid(match)


def _handle_rel_day(match: "re.Match[str]", now: datetime) -> _Atom:
    """今天/明天/后天..., and 明早/今晚 which also carry a day part."""
    shift, daypart = _REL_DAYS[match.group("rd")]
    return _Atom(match.start(), match.end(), day=now.date() + timedelta(days=shift),
                 daypart=daypart)


def _handle_weekday(match: "re.Match[str]", now: datetime) -> _Atom:
    """周三 (nearest coming, today included), 这周三, 下周三, 上周三."""
    today = now.date()
    index = _WEEKDAY_INDEX[match.group("wd_d")]
    shift = _WEEK_REF_SHIFT[match.group("wd_ref")]
    if shift is None:
        day = today + timedelta(days=(index - today.weekday()) % 7)
    else:
        day = _week_monday(today) + timedelta(weeks=shift, days=index)
    return _Atom(match.start(), match.end(), day=day, is_weekday=True,
                 bare_weekday=shift is None)


def _handle_week_range(match: "re.Match[str]", now: datetime) -> _Atom:
    """本周/下周 as Monday-to-Monday ranges; 周末 as Saturday-to-Monday."""
    ref = match.group("wk_ref")
    shift = _WEEK_REF_SHIFT[ref] if ref else 0
    monday = _week_monday(now.date()) + timedelta(weeks=shift)
    if match.group("wk_end") or match.group("wk_end2"):
        days = (monday + timedelta(days=5), monday + timedelta(days=7))
    else:
        days = (monday, monday + timedelta(days=7))
    return _Atom(match.start(), match.end(), days=days)


def _handle_month_range(match: "re.Match[str]", now: datetime) -> _Atom:
    """这个月/下个月/3月份 as first-of-month to first-of-next-month ranges."""
    today = now.date()
    ref = match.group("mg_ref")
    if ref:
        year, month = _shift_month(today.year, today.month, _MONTH_REF_SHIFT[ref])
    else:
        month_value = cn_int(match.group("mg_m"))
        if month_value is None or not 1 <= month_value <= 12:
            return _invalid(match)
        year_value = _resolve_year(match, "mg", today)
        if year_value is None and _year_was_said(match, "mg"):
            return _invalid(match)
        month = month_value
        year = year_value if year_value is not None else (
            today.year if month >= today.month else today.year + 1)
    first = _safe_date(year, month, 1)
    next_year, next_month = _shift_month(year, month, 1)
    following = _safe_date(next_year, next_month, 1)
    if first is None or following is None:
        return _invalid(match)
    return _Atom(match.start(), match.end(), days=(first, following))


def _handle_slash_date(match: "re.Match[str]", now: datetime) -> _Atom:
    """11/25 or 11-25: month first, as written in China."""
    day = _month_day(None, int(match.group("sd_m")), int(match.group("sd_d")), now.date())
    return _day_atom(match, day)


def _handle_bare_day(match: "re.Match[str]", now: datetime) -> _Atom:
    """28号 alone: today, later this month, or the next month that has it."""
    said = match.group("bd_a") or match.group("bd_c") or match.group("bd_t")
    day_number = cn_int(said)
    if day_number is None or not 1 <= day_number <= 31:
        return _invalid(match)
    return _day_atom(match, next_day_of_month(now.date(), day_number))


def next_day_of_month(today: date, day_number: int) -> Optional[date]:
    """The next date (today included) whose day of month is ``day_number``."""
    year, month = today.year, today.month
    for step in range(13):
        y, m = _shift_month(year, month, step)
        candidate = _safe_date(y, m, day_number)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def _handle_clock_colon(match: "re.Match[str]", now: datetime) -> _Atom:
    """14:00 / 9:30: minutes always said; a leading zero means literal."""
    hour_text = match.group("kc_h")
    clock = _make_clock(int(hour_text), int(match.group("kc_m")), precise=True,
                        literal=hour_text.startswith("0") or int(hour_text) >= 13, weak=False)
    return _clock_atom(match, clock)


def _handle_clock_cn(match: "re.Match[str]", now: datetime) -> _Atom:
    """三点 / 十点半 / 两点一刻 / 3点15分 / 三点二十 / 15时30分."""
    hour = cn_int(match.group("kn_h"))
    minute_text = match.group("kn_min") or match.group("kn_min_bare")
    if match.group("kn_half"):
        minute = 30
    elif match.group("kn_quarter"):
        minute = 15 if match.group("kn_quarter") == "一" else 45
    elif minute_text:
        minute = cn_int(minute_text)
    else:
        minute = 0
    precise = minute_text is not None or bool(match.group("kn_half") or match.group("kn_quarter"))
    weak = match.group(0) == "一点"
    if hour is None or minute is None:
        return _invalid(match)
    clock = _make_clock(hour, minute, precise=precise, literal=hour >= 13, weak=weak)
    return _clock_atom(match, clock)


def _make_clock(hour: int, minute: int, *, precise: bool, literal: bool,
                weak: bool) -> Optional[_Clock]:
    """A clock reading, or None for 25点 / 10:75."""
    if not 0 <= hour <= 24 or not 0 <= minute <= 59 or (hour == 24 and minute):
        return None
    return _Clock(hour, minute, precise, literal, weak)


def _clock_atom(match: "re.Match[str]", clock: Optional[_Clock]) -> _Atom:
    """Wrap a clock reading; impossible readings swallow their text."""
    if clock is None:
        return _invalid(match)
    return _Atom(match.start(), match.end(), clock=clock)


def _handle_daypart(match: "re.Match[str]", now: datetime) -> _Atom:
    """上午/下午/晚上...; bare 早/晚 reach here only before a clock time."""
    return _Atom(match.start(), match.end(), daypart=match.group("dp"))


_HANDLERS: Dict[str, _Handler] = {
    "iso_date": _handle_iso_date,
    "abs_date": _handle_abs_date,
    "month_edge": _handle_month_edge,
    "month_ref_day": _handle_month_ref_day,
    "offset": _handle_offset,
    "rel_day": _handle_rel_day,
    "weekday": _handle_weekday,
    "week_range": _handle_week_range,
    "month_range": _handle_month_range,
    "slash_date": _handle_slash_date,
    "bare_day": _handle_bare_day,
    "clock_colon": _handle_clock_colon,
    "clock_cn": _handle_clock_cn,
    "daypart": _handle_daypart,
}


# ---------------------------------------------------------------------------
# Combining atoms into expressions
# ---------------------------------------------------------------------------

@dataclass
class _Expression:
    """Date, day part and clock pieces that belong to one expression."""

    start: int
    end: int
    day: Optional[date] = None
    daypart: Optional[str] = None
    clock: Optional[_Clock] = None
    range_end: bool = False              # "两点到三点": the 三点 part
    base_day: Optional[date] = None      # day a clock time was resolved on


@dataclass(frozen=True)
class _ClockContext:
    """Where the last clock time ended and which day/day part it used."""

    end: int
    day: date
    daypart: Optional[str]


def _adjacent(text: str, left_end: int, right: _Atom,
              joiner: "re.Pattern[str]" = JOINER) -> bool:
    """True when only a space, 的 or a comma separates two atoms."""
    return joiner.fullmatch(text, left_end, right.start) is not None


def _collect(atoms: List[_Atom], index: int, text: str) -> Tuple[_Expression, int]:
    """Greedily join date -> (weekday) -> day part -> clock, left to right."""
    first = atoms[index]
    expr = _Expression(first.start, first.end, first.day, first.daypart, first.clock)
    index += 1
    if expr.day is not None and not first.is_weekday:
        index = _absorb_weekday(expr, atoms, index, text)
    if expr.clock is None and expr.daypart is None:
        index = _join_daypart(expr, atoms, index, text)
    if expr.clock is None and (expr.day is not None or expr.daypart is not None):
        index = _join_clock(expr, atoms, index, text)
    return expr, index


def _absorb_weekday(expr: _Expression, atoms: List[_Atom], index: int, text: str) -> int:
    """"11月25日(周三)" / "明天周三": a following weekday only confirms the date."""
    if index < len(atoms):
        follower = atoms[index]
        if follower.bare_weekday and _adjacent(text, expr.end, follower, WEEKDAY_JOINER):
            opened = any(mark in text[expr.end:follower.start] for mark in "(（")
            closed = text[follower.end:follower.end + 1] in (")", "）")
            expr.end = follower.end + (1 if opened and closed else 0)
            return index + 1
    return index


def _join_daypart(expr: _Expression, atoms: List[_Atom], index: int, text: str) -> int:
    """"明天下午": a pure day part right after a date; 早/晚 only with a clock."""
    if index >= len(atoms):
        return index
    follower = atoms[index]
    if not follower.daypart or follower.day is not None or not _adjacent(text, expr.end, follower):
        return index
    if follower.daypart in BARE_DAYPARTS:
        after = atoms[index + 1] if index + 1 < len(atoms) else None
        if after is None or after.clock is None or after.clock.weak:
            return index
    expr.daypart, expr.end = follower.daypart, follower.end
    return index + 1


def _join_clock(expr: _Expression, atoms: List[_Atom], index: int, text: str) -> int:
    """"下午三点", "明天10点半": a clock right after a date or day part.

    A bare 一点 joins only a real day part (下午一点); after a date alone
    ("明天一点事都没有") it is too likely to mean "a little".
    """
    if index >= len(atoms):
        return index
    follower = atoms[index]
    if follower.clock is None or not _adjacent(text, expr.end, follower):
        return index
    if follower.clock.weak and (expr.daypart is None or expr.daypart in BARE_DAYPARTS):
        return index
    expr.clock, expr.end = follower.clock, follower.end
    return index + 1


def _hour_of_day(clock: _Clock, daypart: Optional[str]) -> int:
    """24-hour reading of a said hour; may exceed 23 (晚上12点 = next day 0:00)."""
    hour = clock.hour
    if clock.literal or hour == 0 or hour == 24:
        return hour
    kind = _DAYPARTS[daypart].kind if daypart else None
    if kind in ("afternoon", "dusk") and hour < 12:
        return hour + 12
    if kind == "evening":
        if hour <= 3:
            return hour + 24        # 晚上两点: the small hours after that evening
        return hour + 12 if hour < 12 else 24
    if kind == "noon" and hour <= 5:
        return hour + 12
    if kind == "small_hours" and hour == 12:
        return 0
    if kind is None and 1 <= hour <= 6:
        return hour + 12
    return hour


def _at(day: date, hours: int, minutes: int = 0) -> datetime:
    """Aware Shanghai datetime ``hours`` (may be >= 24) after midnight of ``day``."""
    midnight = datetime.combine(day, time(0, 0), tzinfo=SHANGHAI)
    return midnight + timedelta(hours=hours, minutes=minutes)


def iso(moment: datetime) -> str:
    """Duckling-style ISO 8601 with milliseconds and +08:00."""
    return moment.astimezone(SHANGHAI).isoformat(timespec="milliseconds")


def _resolve(expr: _Expression, now: datetime, text: str) -> Optional[TimeMatch]:
    """Turn a joined expression into a TimeMatch (None when it is not a time)."""
    span = dict(start=expr.start, end=expr.end, text=text[expr.start:expr.end])
    if expr.daypart in BARE_DAYPARTS and expr.clock is None:
        return None
    if expr.clock is not None:
        weak = expr.clock.weak and not expr.range_end
        if weak and (expr.daypart is None or expr.daypart in BARE_DAYPARTS):
            return None
        moment = _clock_moment(expr, now)
        grain = "minute" if expr.clock.precise else "hour"
        return TimeMatch(value=iso(moment), grain=grain, **span)
    if expr.daypart is not None:
        start, end = _daypart_range(expr, now)
        return TimeMatch(value={"from": iso(start), "to": iso(end)}, grain="hour", **span)
    if expr.day is not None:
        return TimeMatch(value=iso(_at(expr.day, 0)), grain="day", **span)
    return None


def _clock_moment(expr: _Expression, now: datetime) -> datetime:
    """The instant for a clock time; undated times roll to tomorrow once past."""
    assert expr.clock is not None
    hours = _hour_of_day(expr.clock, expr.daypart)
    if expr.day is not None:
        expr.base_day = expr.day
        return _at(expr.day, hours, expr.clock.minute)
    expr.base_day = now.date()
    moment = _at(now.date(), hours, expr.clock.minute)
    if moment <= now:
        expr.base_day += timedelta(days=1)
        moment += timedelta(days=1)
    return moment


def _daypart_range(expr: _Expression, now: datetime) -> Tuple[datetime, datetime]:
    """A day part's [from, to); undated, it is today's until it has ended."""
    assert expr.daypart is not None
    part = _DAYPARTS[expr.daypart]
    day = expr.day if expr.day is not None else now.date()
    start, end = _at(day, part.start_hour), _at(day, part.end_hour)
    if expr.day is None and end <= now:
        start, end = start + timedelta(days=1), end + timedelta(days=1)
    return start, end


def _range_match(atom: _Atom, text: str) -> TimeMatch:
    """A multi-day range (本周, 下个月, 月初) as a day-grain interval."""
    assert atom.days is not None
    start, end = atom.days
    return TimeMatch(start=atom.start, end=atom.end, text=text[atom.start:atom.end],
                     value={"from": iso(_at(start, 0)), "to": iso(_at(end, 0))},
                     grain=atom.days_grain)


def _moment_match(atom: _Atom, text: str) -> TimeMatch:
    """A relative instant (两小时后)."""
    assert atom.moment is not None
    return TimeMatch(start=atom.start, end=atom.end, text=text[atom.start:atom.end],
                     value=iso(atom.moment), grain=atom.moment_grain)


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------

def _as_shanghai(now: datetime) -> datetime:
    """Reference time in Asia/Shanghai; a naive datetime is taken as Shanghai."""
    if now.tzinfo is None:
        return now.replace(tzinfo=SHANGHAI)
    return now.astimezone(SHANGHAI)


def _find_atoms(text: str, now: datetime) -> List[_Atom]:
    """All atoms left to right; a piece that cannot be resolved is dropped."""
    atoms: List[_Atom] = []
    for match in MASTER_PATTERN.finditer(text):
        handler = _HANDLERS[match.lastgroup or ""]
        try:
            atom = handler(match, now)
        except (ValueError, OverflowError):
            atom = _invalid(match)
        if atom is not None:
            atoms.append(atom)
    return atoms


def _extract_unguarded(text: str, now: datetime) -> List[TimeMatch]:
    """The extraction itself; may raise only on a programming error."""
    now = _as_shanghai(now)
    atoms = _find_atoms(text, now)
    matches: List[TimeMatch] = []
    context: Optional[_ClockContext] = None
    index = 0
    while index < len(atoms):
        atom = atoms[index]
        if atom.invalid:
            index += 1
            continue
        if atom.days is not None:
            matches.append(_range_match(atom, text))
            index += 1
            continue
        if atom.moment is not None:
            matches.append(_moment_match(atom, text))
            index += 1
            continue
        expr, index = _collect(atoms, index, text)
        _continue_range(expr, context, text)
        try:
            found = _resolve(expr, now, text)
        except (ValueError, OverflowError):
            found = None
        if found is not None:
            matches.append(found)
            if expr.clock is not None and expr.base_day is not None:
                context = _ClockContext(expr.end, expr.base_day, expr.daypart)
    return matches


def _continue_range(expr: _Expression, context: Optional[_ClockContext], text: str) -> None:
    """"明天下午两点到三点": the bare 三点 takes the day and day part before it."""
    if context is None or expr.clock is None or expr.day is not None or expr.daypart is not None:
        return
    if RANGE_JOINER.fullmatch(text, context.end, expr.start) is None:
        return
    expr.day, expr.daypart, expr.range_end = context.day, context.daypart, True


def extract_times(text: str, now: datetime) -> List[TimeMatch]:
    """All time expressions in ``text``, resolved against ``now``.

    Never raises: the NLU pipeline must keep going whatever a customer types,
    so an unexpected error is logged and treated as "no time found".
    """
    if not text or not isinstance(text, str):
        return []
    try:
        return _extract_unguarded(text, now)
    except Exception:  # pragma: no cover - a bug; logged, never fatal
        logger.exception("time extraction failed for a message of %d characters", len(text))
        return []


# ---------------------------------------------------------------------------
# Debit day (扣款日)
# ---------------------------------------------------------------------------

CHANGE_VERB = (r"(?:改到|改成|改为|改在|换到|换成|调到|调整到|调整为|调成|定在|定到|定为|放到|挪到"
               r"|推到|延到|延后到|设为|设成|设置为|设置成|变成|变为)")
EVERY_MONTH = r"(?:每个?月)"
FILLERS = r"(?:吧|啊|呀|呢|哈|嘛|哦|噢|可以吗|行吗|行不行|可以不|就行|好了|谢谢|吗)"

# A day number followed by one of these is an amount, a clock time or a count.
NOT_A_DAY_NUMBER_AFTER = rf"[0-9{_CN_NUMERAL}月点万千百元块:.个天周次期]"

# Tried in order: what the customer asks for beats what they have now
# ("现在每月28号扣 想改到15号" is 15).
_DEBIT_DAY_PATTERNS = [
    # 改到25 / 调到每月10号 / 定在二十号
    re.compile(rf"{CHANGE_VERB}{EVERY_MONTH}?的?(?P<day>{DAY_NUM})"
               rf"(?:{DAY_SUFFIX}|(?!{NOT_A_DAY_NUMBER_AFTER}))"),
    # 下个月5号 / 3月5号: the day of month is what was said
    re.compile(rf"(?:(?P<ref>{MONTH_REF})|(?<![0-9])(?P<month>{MONTH_NUM}))月的?"
               rf"(?P<day>{DAY_NUM}){DAY_SUFFIX}"),
    # 每月28日 / 每个月的15号 / 每月28
    re.compile(rf"{EVERY_MONTH}的?(?P<day>{DAY_NUM})(?:{DAY_SUFFIX}|(?!{NOT_A_DAY_NUMBER_AFTER}))"),
    # 28号 / 二十八号 / 廿五号 / 15日
    re.compile(rf"(?<!{NOT_A_DAY_BEFORE})(?:(?P<day>[0-9]{{1,2}}){DAY_SUFFIX}|(?P<day_c>{DAY_NUM})号"
               rf"|(?P<day_t>{DAY_NUM_TEN})日)(?!{NOT_A_DAY_AFTER})"),
    # the whole reply is a number: "25" / "二十五号吧"
    re.compile(rf"^\s*(?:就|改|在|是|要)?\s*(?P<day>{DAY_NUM})\s*(?:{DAY_SUFFIX})?\s*{FILLERS}?"
               r"[\s。.!！~～]*$"),
]


def find_debit_day(text: str) -> Optional[Tuple[int, int, int]]:
    """(day, start, end) of the debit day a customer asks for, or None.

    The span covers the whole phrase that said it ("改到25号"), so the entity
    extractor can report where it was found.
    """
    if not text or not isinstance(text, str):
        return None
    for pattern in _DEBIT_DAY_PATTERNS:
        for match in pattern.finditer(text):
            day = _debit_day_from(match)
            if day is not None:
                return day, match.start(), match.end()
    return None


def _debit_day_from(match: "re.Match[str]") -> Optional[int]:
    """Day number of one candidate; None if out of range or an impossible date."""
    groups = match.groupdict()
    said = groups.get("day") or groups.get("day_c") or groups.get("day_t")
    day = cn_int(said) if said else None
    if day is None or not 1 <= day <= 31:
        return None
    month_text = groups.get("month")
    if month_text:
        month = cn_int(month_text)
        # 2月30日 is not a day anyone can be debited; 2028 allows 2月29日.
        if month is None or _safe_date(2028, month, day) is None:
            return None
    return day


__all__ = [
    "TimeMatch",
    "extract_times",
    "find_debit_day",
    "cn_int",
    "next_day_of_month",
    "iso",
    "SHANGHAI",
]
