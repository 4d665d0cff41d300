"""Short references customers read out on the phone (预约号, 申请编号, 服务编号).

Digits only: an elderly customer reads 幺三五… to the hotline far more easily
than a mix of letters and digits, and a phone keypad types them. The first
digit says what the reference is, so staff on the hotline know where to look.
References issued before this rule (YY730482, YQ…, RG…) stay valid: lookups
compare the canonical form, whatever was issued.
"""
from __future__ import annotations

import enum
import re
import secrets
import unicodedata

DIGITS = "0123456789"
LENGTH = 8   # well below the 11 digits masking treats as a phone or card number (bot/bank/masking.py)


class ReferenceKind(str, enum.Enum):
    """The first digit of a reference: what it refers to."""

    BOOKING = "1"         # 预约号
    DEBIT_DAY_REQUEST = "2"   # 申请编号
    CASE = "3"            # 服务编号 of a hand-off


def new_reference(kind: ReferenceKind) -> str:
    """The kind's digit plus random digits, e.g. 17304825 for a booking."""
    return kind.value + "".join(secrets.choice(DIGITS) for _ in range(LENGTH - 1))


def pattern(kind: ReferenceKind) -> "re.Pattern[str]":
    """Finds a reference of this kind in a message (the replies that confirm one)."""
    return re.compile(rf"(?<![0-9]){kind.value}[0-9]{{{LENGTH - 1}}}(?![0-9])")


def canonical(reference: str) -> str:
    """Full-width, lower-case or spaced input ("1730 4825", "ｙｙ 730482", "pc 2020 hl000123") ->
    upper case without spaces or dashes.

    Used for contract numbers and references alike: both are read out by
    voice or typed on a phone keyboard."""
    text = unicodedata.normalize("NFKC", reference or "").upper()
    return re.sub(r"[\s\-_]", "", text)
