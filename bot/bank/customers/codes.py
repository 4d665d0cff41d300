"""Sending one-time codes to a phone: an interface with swappable senders.

Development uses `LogCodeSender`, which logs the code with the phone masked
and appends it to `<data dir>/dev_sms.log` so a developer (or a test) can
read it. Production sets `CODE_SENDER=package.module:ClassName` to a class
with the same `send(phone, code)` method that talks to an SMS gateway.
"""
from __future__ import annotations

import logging
from typing import Protocol

from bot.bank.db import data_dir
from bot.bank.masking import mask_phone
from bot.bank.plugins import configured
from bot.settings import settings

logger = logging.getLogger(__name__)


class CodeSender(Protocol):
    def send(self, phone: str, code: str) -> None:
        """Deliver `code` to `phone`; raise on failure."""


class LogCodeSender:
    """Development sender: the code goes to the log and a local outbox file."""

    def send(self, phone: str, code: str) -> None:
        logger.info("One-time code for %s: %s (development sender)", mask_phone(phone), code)
        with open(data_dir() / "dev_sms.log", "a", encoding="utf-8") as outbox:
            outbox.write(f"{phone} {code}\n")


def code_sender() -> CodeSender:
    """The configured sender (`CODE_SENDER`), else the development one."""
    return configured(settings().code_sender, LogCodeSender)
