"""Files in a hand-off, on the channels' side: keeping a customer's, and serving a conversation's.

Each channel that takes files (the widget, WeChat) serves its customers'
files at `/webhooks/<channel>/files/<token>` (`add_files_route`): the token
is the only key, and only that conversation was given it. The rules (what
is accepted, quotas, masking, expiry, the headers) are
bot/bank/handoff/attachments.py's; here they are called off the event loop.
"""
from __future__ import annotations

import asyncio

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.bank.db import transaction
from bot.bank.handoff import attachments
from bot.bank.refusals import Refusal
from bot.clock import now


def stored(token: str) -> attachments.File:
    with transaction() as session:
        return attachments.for_customer(session, token, at=now())


def keep(conversation_id: str, content: bytes, name: str) -> attachments.Sent:
    """A customer's file, for the agent of their open case (Refusal when it may not be taken)."""
    with transaction() as session:
        return attachments.from_customer(session, conversation_id, content, name, at=now())


def check_receiving(conversation_id: str) -> None:
    """Refuse before a download (WeChat's media API) what `keep` would refuse anyway."""
    with transaction() as session:
        attachments.receiving_case(session, conversation_id)


def withdraw(attachment_id: int) -> None:
    with transaction() as session:
        attachments.withdraw(session, attachment_id)


def add_files_route(blueprint: Blueprint) -> None:
    """`GET files/<token>` on the channel's blueprint: 404 for an unknown or expired file."""

    @blueprint.route("/files/<token:str>", methods=["GET"])
    async def file(_request: Request, token: str) -> HTTPResponse:
        try:
            found = await asyncio.to_thread(stored, token)
        except Refusal:
            return response.text("", status=404)
        return response.raw(found.content, content_type=found.content_type, headers=attachments.served_headers(found))
