"""Short references customers read out on the phone (预约号, 申请编号, 服务编号)."""
from __future__ import annotations

import secrets

# Digits only after the two-letter prefix: an elderly customer reads 幺三五… to
# the hotline far more easily than a mix of letters and digits.
ALPHABET = "0123456789"


def new_reference(prefix: str, length: int = 6) -> str:
    """`prefix` plus random digits, e.g. YY730482 for a booking."""
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))
