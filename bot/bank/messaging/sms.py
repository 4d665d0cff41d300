"""Sending a notification by SMS: an interface with swappable senders.

Like the one-time codes' sender (`bot.bank.customers.codes`): development
uses `LogNoticeSender`, which logs with the phone masked and appends the
message to `<data dir>/dev_notices.log`; production sets
`NOTICE_SENDER=package.module:ClassName` to a class with the same
`send(phone, text)` method that talks to the SMS gateway.
"""
from __future__ import annotations

import logging
from typing import Protocol

from bot.bank.db import data_dir
from bot.bank.masking import mask_phone
from bot.bank.plugins import configured
from bot.settings import settings

logger = logging.getLogger(__name__)


class NoticeSender(Protocol):
    def send(self, phone: str, text: str) -> None:
        """Deliver `text` to `phone`; raise on failure."""


class LogNoticeSender:
    """Development sender: the message goes to the log and a local file, one line each."""

    def send(self, phone: str, text: str) -> None:
        logger.info("SMS notification to %s (development sender)", mask_phone(phone))
        with open(data_dir() / "dev_notices.log", "a", encoding="utf-8") as log:
            log.write(f"{phone}\t{text.replace(chr(10), ' ')}\n")


def notice_sender() -> NoticeSender:
    """The configured sender (`NOTICE_SENDER`), else the development one."""
    return configured(settings().notice_sender, LogNoticeSender)
