"""Files in a hand-off, in the console: opening what a customer sent, and sending one back.

Who may see a case may open its files, at the case's own address: agents and
admins (`escalations.handle`, as for the queue). A file is served with the
type it was found to have and headers that keep it from running anything
here (bot.bank.handoff.attachments.served_headers). An agent sends a JPG, PNG or
PDF on their own case from the case page; it reaches the customer signed, on
their channel, like a reply. Expired files answer 410 with the reason.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any, Dict, Mapping, Tuple
from urllib.parse import unquote

from aiohttp import web
from aiohttp.web_request import FileField

from bot.bank.handoff import attachments
from bot.bank.refusals import Refusal
from bot.clock import now
from bot.desk.access import requires
from bot.desk.common import run_db, text
from bot.desk.pages import form_action
from bot.desk.pages.escalations import CASE, HANDLE, act_on_case, case_id, on_duty

routes = web.RouteTableDef()


@routes.get(CASE + r"/files/{attachment_id:\d+}")
@requires(HANDLE)
async def open_file(request: web.Request) -> web.StreamResponse:
    found = await run_db(attachments.for_staff, int(request.match_info["attachment_id"]), case_id(request), at=now())
    return web.Response(body=found.content, content_type=found.content_type, headers=attachments.served_headers(found))


def _upload(data: Mapping[str, Any]) -> Tuple[bytes, str]:
    """The file from the page's form, or from JSON as {"name", "content": base64}."""
    upload = data.get("file")
    if isinstance(upload, FileField):   # some clients percent-encode a Chinese file name
        return upload.file.read(), unquote(upload.filename or "")
    try:
        return base64.b64decode(text(data, "content"), validate=True), text(data, "name")
    except (binascii.Error, ValueError):
        raise Refusal("invalid", "请选择要发送的图片或 PDF 文件。") from None


async def _send(request: web.Request, data: Mapping[str, Any]) -> Dict[str, Any]:
    return await act_on_case(request, attachments.from_agent, *_upload(data))


form_action(routes, CASE + "/files", HANDLE, run=on_duty(_send), done=lambda _: ("文件已提交，正在发送给客户。", "ok"),
            back=lambda request: f"/escalations/{case_id(request)}")
