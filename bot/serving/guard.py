"""Install a serving patch only on the Rasa release it was written for.

Each patch in this package re-implements or leans on a piece of Rasa's
internals (a private method, a private attribute, the policy ensemble's
decision). On another Rasa release that piece may have changed, and a patch
that still installed would quietly give answers Rasa would not. So a patch
names the release it was written for and the Rasa functions it mirrors; on
any other release it stays off and says so in the log, and the server runs
on stock Rasa, only slower.

`MIRRORS` maps each mirrored function ("module:Qualified.name") to the
sha256 of its source on that release. tests/test_serving_guard.py hashes
the installed Rasa's functions and fails when one differs, so an upgrade of
Rasa cannot pass the tests without someone re-reading the patch.
"""
from __future__ import annotations

import hashlib
import importlib
import inspect
import logging
from dataclasses import dataclass
from typing import Callable, Mapping

from rasa.version import __version__ as RASA_VERSION

logger = logging.getLogger(__name__)

WRITTEN_FOR = "3.6.21"


@dataclass(frozen=True)
class Patch:
    """One speed fix: what it replaces, what it mirrors, and how to put it in place."""

    name: str
    apply: Callable[[], None]
    mirrors: Mapping[str, str]
    written_for: str = WRITTEN_FOR


def mirrored(target: str) -> Callable:
    """The Rasa function a "module:Qualified.name" target names."""
    module_name, _, qualname = target.partition(":")
    found = importlib.import_module(module_name)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def source_hash(target: str) -> str:
    """sha256 of the source of the function `target` names, as installed now."""
    return hashlib.sha256(inspect.getsource(mirrored(target)).encode("utf-8")).hexdigest()


def install(patch: Patch, rasa_version: str = RASA_VERSION) -> bool:
    """Apply `patch` when Rasa is the release it was written for; otherwise log that it is off."""
    if rasa_version != patch.written_for:
        logger.warning("Serving patch %s is off: written for Rasa %s, this is Rasa %s (stock Rasa runs instead).",
                       patch.name, patch.written_for, rasa_version)
        return False
    patch.apply()
    logger.info("Serving patch %s is on (Rasa %s).", patch.name, rasa_version)
    return True
