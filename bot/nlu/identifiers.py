"""Phone numbers and loan references in what customers type.

A mainland mobile number has 11 digits starting 13-19; a bank card has 16-19
digits and an ID card 18. The patterns only accept a phone number that is not
cut out of a longer run of digits, so a card number never reads as a phone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List

from bot.identifiers import CONTRACT_NO, MOBILE

# 138 0013 8000, 138-0013-8000, +86 13800138000, 8613800138000
# The mobile pattern with optional separators after the 3rd and 7th digit.
_SPACED_MOBILE = MOBILE.replace("[0-9]{9}", "[0-9](?:[\\s-]?[0-9]{4}){2}")
_PHONE = re.compile(rf"(?<![0-9])(?:(?:\+|00)?86[\s-]?)?(?P<number>{_SPACED_MOBILE})(?![0-9])")
_CONTRACT = re.compile(rf"(?<![A-Za-z0-9])(?P<ref>{CONTRACT_NO})(?![A-Za-z0-9])", re.IGNORECASE)
# 尾号1234 / 后四位是1234 / 末4位 1234 / 最后四位1234
_LAST_FOUR = re.compile(
    r"(?:尾号|尾数|后四位|后4位|末四位|末4位|最后四位|最后4位)(?:是|为|:)?\s*(?P<digits>[0-9]{4})(?![0-9])"
)
# A tail that belongs to a phone or a card, not to a loan.
_NOT_A_LOAN_TAIL = re.compile(r"(?:手机|电话|号码|卡号|银行卡|信用卡|身份证|储蓄卡|借记卡)[^,.!?，。！？]{0,3}$")


@dataclass(frozen=True)
class Found:
    """One identifier: its canonical value and where it was said."""

    value: str
    start: int
    end: int


def find_phones(text: str) -> List[Found]:
    """Mainland mobile numbers, as 11 plain digits."""
    return [
        Found(re.sub(r"[\s-]", "", m.group("number")), m.start(), m.end())
        for m in _PHONE.finditer(text)
    ]


def find_loan_refs(text: str) -> List[Found]:
    """Full contract numbers (upper-cased) and loan tails (4 digits)."""
    found = [Found(m.group("ref").upper(), m.start(), m.end()) for m in _CONTRACT.finditer(text)]
    for match in _LAST_FOUR.finditer(text):
        if not _NOT_A_LOAN_TAIL.search(text[: match.start()]):
            found.append(Found(match.group("digits"), match.start(), match.end()))
    return found
