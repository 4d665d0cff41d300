"""The one way a bank service says "no": a `Refusal` with a code and a message.

`code` is stable and for programs (the console maps it to an HTTP status in
one table, `bot.desk.common.HTTP_STATUS_BY_CODE`; actions map it to a
response in the domain). `message` is Chinese for the member of staff who
asked, who can act on it; customers never see it.
"""
from __future__ import annotations


class Refusal(Exception):
    """A request the bank's rules do not allow."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message or code
