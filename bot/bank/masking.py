"""Masking personal data in transcripts, exports and logs.

Phones, resident ID numbers and bank card numbers keep only their last 4
digits, so an agent can still say "the card ending 1234" and nobody reading
a transcript over a shoulder learns the number. A digit run is masked only
when it *is* such a number: a mainland mobile number, an 18-digit ID whose
GB 11643 check digit is right, or a 16–19 digit card number passing the
Luhn test. Amounts, dates, booking references and other numbers stay as
written. Full-width digits and spaced or hyphenated groups ("+86 138 0013
8000", "6222 0202 0000 0000 003") are recognised too.
"""
from __future__ import annotations

import re
import unicodedata

from bot.identifiers import MOBILE

# Chinese characters count as word characters in Python's `\w`, so the
# borders are spelled out: no Latin letter, digit or decimal point on either side.
# A run of digits, optionally grouped by single spaces or hyphens, optionally
# led by the +86 country code and ending in an ID check character X.
_CANDIDATE = re.compile(
    r"(?<![0-9０-９A-Za-z.．])(?:[+＋]?86[\s-]?)?\d(?:[\s-]?\d){10,18}(?:[\s-]?[Xx])?"
    r"(?![0-9０-９A-Za-z]|[.．]\d)"
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MOBILE = re.compile(MOBILE)


def _digits(text: str) -> str:
    """ASCII digits (and a final X) of a candidate, separators dropped."""
    out = []
    for char in text:
        if char in "Xx":
            out.append("X")
        elif char.isdigit():
            out.append(str(unicodedata.digit(char)))
    return "".join(out)


def is_resident_id(number: str) -> bool:
    """18 characters whose last one is the GB 11643 checksum of the first 17."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == number[17].upper()


def passes_luhn(number: str) -> bool:
    """The Luhn check every UnionPay, Visa and Mastercard number satisfies."""
    if not number.isdigit():
        return False
    total = 0
    for position, digit in enumerate(int(char) for char in reversed(number)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _without_country_code(number: str) -> str:
    return number[2:] if len(number) == 13 and number.startswith("86") else number


def is_personal_number(number: str) -> bool:
    """A mobile number, resident ID or card number (digits only, maybe a final X)."""
    local = _without_country_code(number)
    if len(local) == 11 and _MOBILE.fullmatch(local):
        return True
    if is_resident_id(number):
        return True
    return 16 <= len(number) <= 19 and passes_luhn(number)


def _mask_match(match: re.Match) -> str:
    number = _digits(match.group(0).lstrip("+＋"))
    if not is_personal_number(number):
        return match.group(0)
    local = _without_country_code(number) if len(number) == 13 else number
    return "*" * (len(local) - 4) + local[-4:]


def mask_text(text: str) -> str:
    """`text` with every phone, ID and card number reduced to its last 4 digits."""
    if not text:
        return text
    return _CANDIDATE.sub(_mask_match, text)


def mask_phone(phone: str) -> str:
    """13800138000 -> 138****8000 (for a number shown on its own, e.g. a booking)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_name(name: str) -> str:
    """张三丰 -> 张**: the surname is enough for the customer to know whom we mean."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)
