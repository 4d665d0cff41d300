"""Classes named in the settings as `package.module:ClassName` (SMS gateways and the like)."""
from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any, Callable


@lru_cache(maxsize=16)
def _instance(path: str) -> Any:
    module_name, _, class_name = path.partition(":")
    return getattr(importlib.import_module(module_name), class_name)()


def configured(path: str, default: Callable[[], Any]) -> Any:
    """One instance per process of the class at `path`; `default()` when the setting is empty."""
    return _instance(path) if path else default()
