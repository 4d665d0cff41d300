"""Short references customers read out on the phone (预约号, 申请编号, 工单号)."""
from __future__ import annotations

import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: nothing to mishear


def new_reference(prefix: str, length: int = 6) -> str:
    """`prefix` plus random characters, e.g. YY7KQ2MX for a booking."""
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))
