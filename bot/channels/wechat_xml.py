"""WeChat's XML in and out, and Rasa's messages as WeChat text.

Callbacks are parsed with defusedxml and any DOCTYPE is refused outright:
WeChat never sends one, so a DOCTYPE means an entity expansion ("billion
laughs") or an external entity attack, never a real message. Replies are
built by hand with CDATA sections, as WeChat expects.

WeChat text has no buttons, so a Rasa reply's buttons become a numbered
list (utter_wechat_choose_by_number: "回复数字即可选择：1. …") and the customer answers with the number.
One text message holds at most 2048 bytes; longer replies are split.
"""
from __future__ import annotations

import time
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from bot.wording import text_of

MAX_TEXT_BYTES = 2048
MAX_BODY_BYTES = 64 * 1024  # WeChat callbacks are a few hundred bytes


class BadXml(ValueError):
    """A body that is not a flat, well-formed, DTD-free WeChat <xml> document."""


def parse(body: bytes) -> Dict[str, str]:
    """The <xml> root's child elements as {tag: text}; raises BadXml otherwise."""
    if len(body) > MAX_BODY_BYTES:
        raise BadXml("body too large")
    try:
        root = fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as error:
        raise BadXml(str(error)) from error
    if root.tag != "xml":
        raise BadXml(f"root element is <{root.tag}>, not <xml>")
    return {child.tag: (child.text or "").strip() for child in root}


def _cdata(text: str) -> str:
    """CDATA that survives a "]]>" inside the text."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(to_user: str, from_user: str, content: str) -> str:
    """A passive text reply to the customer `to_user` from our account `from_user`."""
    return (f"<xml><ToUserName>{_cdata(to_user)}</ToUserName>"
            f"<FromUserName>{_cdata(from_user)}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType>{_cdata('text')}</MsgType>"
            f"<Content>{_cdata(content)}</Content></xml>")


def encrypted_reply(encrypted: str, msg_signature: str, timestamp: str, nonce: str) -> str:
    """The safe-mode envelope around an encrypted passive reply."""
    return (f"<xml><Encrypt>{_cdata(encrypted)}</Encrypt>"
            f"<MsgSignature>{_cdata(msg_signature)}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp>"
            f"<Nonce>{_cdata(nonce)}</Nonce></xml>")


# --- Rasa bot messages as WeChat text ---------------------------------------------


def _message_text(message: Dict[str, Any]) -> Optional[str]:
    """The words of one Rasa message; custom payloads count only if they carry text."""
    custom = message.get("custom")
    text = message.get("text") or (custom.get("text") if isinstance(custom, dict) else None)
    return text.strip() if isinstance(text, str) and text.strip() else None


def _numbered(buttons: Sequence[Dict[str, Any]], first: int) -> str:
    lines = [f"{first + index}. {button.get('title', '')}" for index, button in enumerate(buttons)]
    return text_of("utter_wechat_choose_by_number", options="\n".join(lines))


def render(messages: Iterable[Dict[str, Any]]) -> Tuple[List[str], List[Dict[str, Any]]]:
    """Each message as one text part, plus every button in the order it was numbered.

    Numbering runs across the whole reply, so "2" means the same button
    however many messages the reply had. Messages with nothing to say in
    text (images, hand-off markers) are skipped.
    """
    parts: List[str] = []
    buttons: List[Dict[str, Any]] = []
    for message in messages:
        own = [button for button in message.get("buttons") or [] if button.get("payload")]
        words = [text for text in (_message_text(message), _numbered(own, len(buttons) + 1) if own else None)
                 if text]
        if words:
            parts.append("\n".join(words))
        buttons.extend(own)
    return parts, buttons


def split_bytes(text: str, limit: int = MAX_TEXT_BYTES) -> List[str]:
    """Pieces of `text` of at most `limit` UTF-8 bytes, cut after a newline when possible."""
    pieces: List[str] = []
    while len(text.encode("utf-8")) > limit:
        cut = len(text.encode("utf-8")[:limit].decode("utf-8", errors="ignore"))
        newline = text.rfind("\n", 0, cut)
        cut = newline + 1 if newline > cut // 2 else cut
        pieces.append(text[:cut].rstrip("\n"))
        text = text[cut:]
    return pieces + ([text] if text else [])


def pack(parts: Sequence[str], limit: int = MAX_TEXT_BYTES) -> Tuple[str, List[str]]:
    """The longest run of whole parts that fits one message, and the pieces left over."""
    pieces = [piece for part in parts for piece in split_bytes(part, limit)]
    first = ""
    for index, piece in enumerate(pieces):
        joined = f"{first}\n\n{piece}" if first else piece
        if len(joined.encode("utf-8")) > limit:
            return first, pieces[index:]
        first = joined
    return first, []
