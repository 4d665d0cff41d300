"""Log lines that a machine can read and that leak no personal data.

Both servers log through `config/logging.yml` (`--logging-config-file`):
every record passes `MaskingFilter`, which reduces phone, resident ID and
card numbers to their last four digits (`bot.bank.masking.mask_text`) in the
message, its arguments, tracebacks and extra fields, and `JsonFormatter`
writes it as one JSON object per line: time, level, logger, message, and
the conversation id and the client's address (behind HAProxy: the one it
forwarded, bot/channels/client_address.py) when they are known. Customers
type their numbers into the chat, and Rasa's debug log repeats every
message, so masking cannot be left to each `logger.info` call.

Rasa renders its structlog events as a JSON string before handing them to
the standard logger, with Chinese escaped as `\\uXXXX`; such a message is
decoded first (an escape next to a number would hide it from the masking),
and its fields become the line's `data`.

The conversation id comes from `conversation_id`, a context variable the
channel guard (`bot.channels.guard`) sets for the sender being answered;
asyncio copies it into every task started from there.
"""
from __future__ import annotations

import contextvars
import json
import logging
import logging.config
import sys
from datetime import datetime
from typing import Any, Dict, Optional, Sequence

import yaml

from bot.bank.masking import mask_text

conversation_id: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("conversation_id", default=None)
# The customer's address (bot/channels/client_address.py), for the request being handled.
client_address: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("client_address", default=None)

# What every LogRecord has; anything else on a record was passed as `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def masked(value: Any) -> Any:
    """`value` with personal numbers masked in every string it contains."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [masked(item) for item in value]
    return value


def structlog_fields(message: str) -> Optional[Dict[str, Any]]:
    """The fields of a structlog event rendered as JSON, else None."""
    if not message.startswith("{"):
        return None
    try:
        fields = json.loads(message)
    except ValueError:
        return None
    return fields if isinstance(fields, dict) and "event" in fields else None


class MaskingFilter(logging.Filter):
    """Masks personal numbers in everything a handler may print of a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        fields = structlog_fields(message)
        record.msg = json.dumps(masked(fields), ensure_ascii=False) if fields else mask_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD:
                setattr(record, key, masked(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, conversation_id, ..."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: Dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        fields = structlog_fields(message)
        if fields:
            entry["message"] = fields.pop("event")
            fields.pop("level", None)
            entry["data"] = fields
        conversation = conversation_id.get()
        if conversation:
            entry["conversation_id"] = mask_text(conversation)
        client = client_address.get()
        if client:
            entry["client"] = client
        extra = {key: value for key, value in vars(record).items() if key not in _STANDARD}
        if extra:
            entry["extra"] = extra
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        line = json.dumps(entry, ensure_ascii=False, default=str)
        # A lone surrogate (a broken emoji from a client) cannot be written as UTF-8.
        return line.encode("utf-8", "backslashreplace").decode("utf-8")


def config_file_from(argv: Sequence[str]) -> Optional[str]:
    """The `--logging-config-file` given on a command line, if any."""
    for index, arg in enumerate(argv):
        if arg == "--logging-config-file" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--logging-config-file="):
            return arg.split("=", 1)[1]
    return None


def reapply_config_file(argv: Optional[Sequence[str]] = None) -> None:
    """Apply the process's `--logging-config-file` once more.

    `rasa run` applies the file first and then installs coloredlogs' handler
    on the root logger and Sanic's own handlers on `sanic.*`, which would
    print unmasked plain text beside our JSON. Called after all of that
    (bot/channels/ops.py), this puts the file's handlers back in charge.
    (`rasa run actions` applies the file last itself.)
    """
    path = config_file_from(sys.argv if argv is None else argv)
    if path:
        with open(path, encoding="utf-8") as config:
            logging.config.dictConfig(yaml.safe_load(config))
