"""The shapes of the identifiers customers type, written once for every layer.

The NLU finds them in messages, the actions check a typed answer, the bank
matches loans and masks transcripts: all with these patterns.
"""
from __future__ import annotations

# A mainland mobile number: 11 digits starting 13-19.
MOBILE = r"1[3-9][0-9]{9}"
# A loan contract number of the demo bank: PC + year + product code + 6 digits.
CONTRACT_NO = r"PC[0-9]{4}[A-Z]{2}[0-9]{6}"
