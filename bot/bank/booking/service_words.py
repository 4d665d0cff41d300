"""Which service a customer means, in their own words (办张卡 → 开户).

The bank profile lists each bookable service with the words customers use
for it (`services[].synonyms` in demo_bank.yml). The NLU's gazetteer finds
those exact phrases; people also slip a measure word in (办张卡, 开个户,
取点钱), which this reads too. Moving the monthly debit day (改还款日) is not
a counter visit at all: it is done in the chat, so it is told apart.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional, Sequence, Tuple

from bot.bank.profile import load_profile

# One measure word (or 一 + one) between a verb and its object: 办张卡, 开一个户, 取点钱.
MEASURE = "(?:一?[张个点些笔下])?"
DEBIT_DAY = re.compile(r"(改|换|调|变更|挪|推迟|延后)[一个下]*(每月的?)?(还款|扣款)(日|日期|的日子|那天)")


@dataclass(frozen=True)
class ServiceWords:
    """A service named in a message, or the debit-day change (done online, not at a counter)."""

    service: Optional[str] = None
    debit_day: bool = False


def _pattern(phrase: str) -> str:
    head, rest = re.escape(phrase[0]), re.escape(phrase[1:])
    return f"{head}{MEASURE}{rest}" if 2 <= len(phrase) <= 3 else re.escape(phrase)


@lru_cache(maxsize=4)
def _patterns(services: Tuple[Tuple[str, Tuple[str, ...]], ...]) -> Tuple[Tuple[re.Pattern, str], ...]:
    """Longest phrases first, so 补办银行卡 is 挂失补卡 before 办银行卡 is 开户."""
    pairs = [(phrase, name) for name, words in services for phrase in (name, *words)]
    pairs.sort(key=lambda pair: -len(pair[0]))
    return tuple((re.compile(_pattern(phrase)), name) for phrase, name in pairs)


def _profile_services(services: Optional[Sequence[dict]]) -> Tuple[Tuple[str, Tuple[str, ...]], ...]:
    listed = load_profile().services if services is None else services
    return tuple((s["name"], tuple(s.get("synonyms", []))) for s in listed)


def service_in_words(text: str, services: Optional[Sequence[dict]] = None) -> ServiceWords:
    """The service `text` names, through the profile's synonyms; the debit-day change first."""
    if DEBIT_DAY.search(text):
        return ServiceWords(debit_day=True)
    for pattern, name in _patterns(_profile_services(services)):
        if pattern.search(text):
            return ServiceWords(service=name)
    return ServiceWords()
