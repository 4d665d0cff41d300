"""Masking personal numbers in transcripts and logs (keep the last 4 digits)."""
from __future__ import annotations


def mask_phone(phone: str) -> str:
    """13800138000 -> 138****8000."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
