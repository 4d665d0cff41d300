"""Customer-facing sentences the bank writes itself, read from the domain's responses.

Every sentence a customer reads is a response in `domain/` so it is reviewed
in one place. Rasa renders them in a conversation; a message the bank sends
outside one (an SMS, a WeChat template message) is rendered here from the
same files, with the same `{name}` placeholders. A missing value is an
error, never an empty gap in a customer's message.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict

import yaml

from bot.settings import ROOT

DOMAIN_DIR = ROOT / "domain"


@lru_cache(maxsize=1)
def _responses() -> Dict[str, str]:
    """Response name -> the text of its first variant, over every domain file."""
    texts: Dict[str, str] = {}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        for name, variants in (yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}).items():
            texts[name] = variants[0]["text"]
    return texts


def say(response: str, **values: Any) -> str:
    """The response's text with `values` filled in."""
    return _responses()[response].format_map(values)
