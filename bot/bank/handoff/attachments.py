"""Photos and PDFs in a hand-off: a customer's photo of a scam SMS or a statement, an agent's form.

Only while the customer has an open case: the bot cannot read a photo, a
person can. What is accepted is decided by the file's first bytes, never by
its name or the type the sender claims: JPEG, PNG or PDF, at most MAX_BYTES.
Digits in a file name that look like a phone, card or ID number are masked
like the transcript (bot.bank.masking). Every file expires after the bank's
retention (`HELPLINE_ATTACHMENT_DAYS`, 30 by default): `purge_expired`
empties it and keeps the row as the record that something was sent.

A case takes at most MAX_FILES_PER_CASE files and MAX_CASE_BYTES in all, so
nobody can fill the database through one chat. Staff open a file by id,
and only as part of its own case; a customer opens one only through its
token, which only their conversation was given. Files are always served
with the type found here and `nosniff` (`served_headers`): a photo inline
under a sandboxing content security policy, a PDF as a download (browsers'
PDF viewers refuse to run in a sandbox), so a crafted file runs nothing in
the bank's origin.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Dict, Optional
from urllib.parse import quote

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, undefer

from bot.bank.handoff import escalations
from bot.bank.handoff.models import Attachment, Escalation
from bot.bank.masking import mask_text
from bot.bank.refusals import Refusal
from bot.clock import local
from bot.settings import settings
from bot.wording import text_of

MAX_BYTES = 5 * 1024 * 1024
MAX_FILES_PER_CASE, MAX_CASE_BYTES = 20, 50 * 1024 * 1024
# Why a customer's file is refused: utter_attachment_<reason> says it to them.
REFUSALS = ("no_case", "type", "too_large", "empty", "quota")
MAX_NAME = 80
CUSTOMER, AGENT = "customer", "agent"
# The first bytes of each accepted type, and the extension its name gets.
SIGNATURES = {b"\xff\xd8\xff": ("image/jpeg", ".jpg"), b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
              b"%PDF-": ("application/pdf", ".pdf")}
UNSAFE_NAME = re.compile(r"[/\\:*?\"<>|]+")


@dataclass(frozen=True)
class Sent:
    """What a message with a file carries, as its metadata's `file` (in the tracker and the outbox;
    not Rasa's own `attachment`, which its channels treat as an image URL)."""

    id: int
    token: str
    name: str
    content_type: str

    def as_metadata(self) -> Dict[str, object]:
        return {"id": self.id, "token": self.token, "name": self.name, "type": self.content_type}


@dataclass(frozen=True)
class File:
    name: str
    content_type: str
    content: bytes


def sniff(data: bytes) -> tuple[str, str]:
    """(content type, extension) from the file's first bytes; refuses anything else."""
    if not data:
        raise Refusal("attachment_empty", "文件没有内容，无法发送。")
    if len(data) > MAX_BYTES:
        raise Refusal("attachment_too_large", f"文件超过 {MAX_BYTES // (1024 * 1024)} MB，无法发送。")
    for signature, found in SIGNATURES.items():
        if data.startswith(signature):
            return found
    raise Refusal("attachment_type", "只能发送 JPG、PNG 图片或 PDF 文件。")


def clean_name(name: str, extension: str) -> str:
    """The name shown to staff and the customer: no path, no control characters, numbers masked,
    the extension the content really has."""
    stem = PurePosixPath(unicodedata.normalize("NFC", (name or "").replace("\\", "/"))).stem
    # Control and format characters (a right-to-left override can make "exe.pdf" read "fdp.exe").
    stem = "".join(" " if unicodedata.category(char)[0] == "C" else char for char in stem)
    stem = mask_text(UNSAFE_NAME.sub(" ", stem)).strip(" .") or "附件"
    return stem[:MAX_NAME - len(extension)] + extension


def _keep() -> timedelta:
    return timedelta(days=settings().attachment_days)


def _store(session: Session, escalation: Escalation, sender: str, data: bytes, name: str, at: datetime,
           staff_id: Optional[int] = None) -> Sent:
    content_type, extension = sniff(data)
    row = Attachment(token=secrets.token_hex(16), escalation_id=escalation.id, sender=sender, staff_id=staff_id,
                     file_name=clean_name(name, extension), content_type=content_type, size=len(data),
                     sha256=hashlib.sha256(data).hexdigest(), content=data, created_at=at, expires_at=at + _keep())
    session.add(row)
    session.flush()
    escalations.remember(escalation, row.file_name)
    return Sent(row.id, row.token, row.file_name, content_type)


def receiving_case(session: Session, conversation_id: str) -> Escalation:
    """The customer's open case, locked, if it may take another file (checked before a download too)."""
    escalation = escalations.open_for(session, conversation_id, lock=True)
    if escalation is None:
        raise Refusal("attachment_no_case", "这位客户还没有转人工，暂时不能发送图片或文件。")
    count, total = session.execute(select(func.count(Attachment.id), func.coalesce(func.sum(Attachment.size), 0))
                                   .where(Attachment.escalation_id == escalation.id)).one()
    if count >= MAX_FILES_PER_CASE or total >= MAX_CASE_BYTES:
        raise Refusal("attachment_quota", f"本次接待的文件数量已达上限（{MAX_FILES_PER_CASE} 个），不能再发送。")
    return escalation


def from_customer(session: Session, conversation_id: str, data: bytes, name: str, *, at: datetime) -> Sent:
    """Keep a file the customer sent to the agent of their open case."""
    return _store(session, receiving_case(session, conversation_id), CUSTOMER, data, name, at)


def withdraw(session: Session, attachment_id: int) -> None:
    """Forget a customer's file that never reached the conversation (the message was refused)."""
    session.execute(delete(Attachment).where(Attachment.id == attachment_id, Attachment.sender == CUSTOMER))


def from_agent(session: Session, escalation_id: int, staff_id: int, data: bytes, name: str, *,
               at: datetime) -> Sent:
    """Keep a file the agent sends on their own case and queue it to the customer, signed,
    on the customer's channel."""
    escalation, staff = escalations.own_case(session, escalation_id, staff_id)
    sent = _store(session, escalation, AGENT, data, name, at, staff.id)
    escalation.first_reply_at = escalation.first_reply_at or at
    escalations.send_file(session, escalation, staff, sent.name, sent.as_metadata(), at)
    return sent


def _alive(row: Optional[Attachment], at: datetime) -> Attachment:
    if row is None:
        raise Refusal("not_found", "找不到这个文件，可能已被删除。")
    if row.content is None or local(row.expires_at) <= at:
        raise Refusal("gone", "这个文件已过保存期限，系统已自动删除。")
    return row


def _file(row: Attachment) -> File:
    return File(row.file_name, row.content_type, row.content)


def for_staff(session: Session, attachment_id: int, escalation_id: int, *, at: datetime) -> File:
    """A file of this case (a link naming another case's file finds nothing)."""
    query = select(Attachment).where(Attachment.id == attachment_id, Attachment.escalation_id == escalation_id
                                     ).options(undefer(Attachment.content))
    return _file(_alive(session.execute(query).scalar_one_or_none(), at))


def for_customer(session: Session, token: str, *, at: datetime) -> File:
    query = select(Attachment).where(Attachment.token == token).options(undefer(Attachment.content))
    return _file(_alive(session.execute(query).scalar_one_or_none(), at))


def served_headers(file: File) -> Dict[str, str]:
    """The headers a file is served with, to staff and customers alike: a photo opens in the
    browser, sandboxed; a PDF downloads under its masked name."""
    if file.content_type.startswith("image/"):
        shown = {"Content-Security-Policy": "sandbox", "Content-Disposition": f"inline; filename*=UTF-8''{quote(file.name)}"}
    else:
        shown = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(file.name)}"}
    return {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
            "Referrer-Policy": "no-referrer", **shown}


def customer_refusal(error: Refusal) -> str:
    """What the customer is told when their file is refused: the domain's words for each code."""
    return text_of(f"utter_attachment_{error.code.removeprefix('attachment_')}")


def label(name: str) -> str:
    """The text a customer's file stands as in the conversation (what staff read in the transcript)."""
    return f"[附件] {name}"


def purge_expired(session: Session, *, at: datetime) -> int:
    """Empty the files past their retention; returns how many."""
    return session.execute(update(Attachment).where(Attachment.expires_at <= at, Attachment.content.is_not(None))
                           .values(content=None).execution_options(synchronize_session=False)).rowcount
