"""Text normalisation applied before tokenising.

Customers type traditional characters, full-width digits from Chinese input
methods, emoji and stray control characters pasted from other apps. The
classifier should see one canonical form, so this maps all of them onto
simplified, half-width text.

The mapping is length-preserving (every input character becomes exactly one
output character), so entity offsets found in the normalised text are also
valid in what the customer actually typed: transcripts keep the original.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

import opencc

_FULLWIDTH_START, _FULLWIDTH_END, _FULLWIDTH_SHIFT = 0xFF01, 0xFF5E, 0xFEE0
_IDEOGRAPHIC_SPACE = "\u3000"

# Code point ranges that hold emoji, pictographs and their modifiers
# (variation selectors, skin tones, zero-width joiner, keycap, tags).
_EMOJI_RANGES = (
    (0x1F000, 0x1FAFF),
    (0x2600, 0x27BF),
    (0x2B00, 0x2BFF),
    (0x1F1E6, 0x1F1FF),
    (0xFE00, 0xFE0F),
    (0x200D, 0x200D),
    (0x20E3, 0x20E3),
    (0xE0020, 0xE007F),
    (0x2300, 0x23FF),
)


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    """One OpenCC instance per process: loading its dictionaries is slow."""
    return opencc.OpenCC("t2s")


def _is_emoji(code: int) -> bool:
    return any(low <= code <= high for low, high in _EMOJI_RANGES)


def _half_width_char(char: str) -> str:
    """Map one character to its half-width, emoji- and control-free form."""
    code = ord(char)
    if _FULLWIDTH_START <= code <= _FULLWIDTH_END:
        return chr(code - _FULLWIDTH_SHIFT)
    if char == _IDEOGRAPHIC_SPACE or char.isspace():
        return " "
    if _is_emoji(code) or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
        return " "
    return char


def to_simplified(text: str) -> str:
    """Traditional to simplified Chinese, keeping one character per character.

    OpenCC converts phrase by phrase; in the rare case a phrase changes length
    we fall back to character-by-character conversion to keep offsets valid.
    """
    converted = _converter().convert(text)
    if len(converted) == len(text):
        return converted
    return "".join(
        single if len(single := _converter().convert(char)) == 1 else char
        for char in text
    )


def normalise(text: str) -> str:
    """Return the canonical form of `text` with exactly the same length.

    Full-width letters, digits and punctuation become half-width; any kind of
    whitespace becomes a plain space; emoji and control characters become
    spaces; traditional characters become simplified.
    """
    if not text:
        return ""
    return to_simplified("".join(_half_width_char(char) for char in text))


def is_blank(text: str) -> bool:
    """True when nothing but spaces is left after normalising."""
    return not normalise(text).strip()
