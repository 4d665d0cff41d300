"""Masking personal data: phones keep the last 4 digits, names keep the surname."""
from __future__ import annotations


def mask_phone(phone: str) -> str:
    """13800138000 -> 138****8000."""
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
