"""Signed cookies: the login session, the login form's nonce, one-time messages.

A session is a signed cookie: it carries a random session id, the staff
id, the account's `session_epoch` and the CSRF token, and every request
looks the account up again, so a disabled account or a reset password (both
raise the epoch) ends its sessions at once. Logging out removes the cookie
from that browser and records the session id as ended
(bot/desk/login_state.py, in Redis when configured), so a copy of the
cookie is refused by every console process too.

Cookies are HMAC-SHA256 signed with a key derived from `HELPLINE_SECRET`
(separately per purpose, so a flash message can never pass as a session),
HttpOnly and SameSite=Lax; `DESK_SECURE_COOKIES=1` adds Secure behind HTTPS.
Expiry is checked against the real wall clock, never the pinned demo clock.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Dict, Optional

from aiohttp import web

from bot.settings import settings
SESSION_COOKIE = "desk_session"
LOGIN_COOKIE = "desk_login"
FLASH_COOKIE = "desk_flash"
LOGIN_FORM_SECONDS = 3600
FLASH_SECONDS = 120


def session_seconds() -> int:
    """A working day plus overtime; `DESK_SESSION_HOURS` changes it."""
    return settings().desk_session_seconds


def secret_is_default() -> bool:
    return settings().uses_development_secret


def _key(purpose: str) -> bytes:
    secret = settings().secret.encode()
    return hmac.new(secret, f"desk-cookie:{purpose}".encode(), hashlib.sha256).digest()


def sign(data: Dict[str, Any], purpose: str, max_age: int) -> str:
    """`data` with an expiry, as base64url JSON plus an HMAC tag."""
    body = json.dumps({"d": data, "exp": int(time.time()) + max_age}, separators=(",", ":"), ensure_ascii=False)
    encoded = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
    tag = hmac.new(_key(purpose), encoded.encode(), hashlib.sha256).hexdigest()
    return f"{encoded}.{tag}"


def unsign(token: Optional[str], purpose: str) -> Optional[Dict[str, Any]]:
    """The data, or None when the token is missing, forged or expired."""
    if not token or token.count(".") != 1:
        return None
    encoded, tag = token.split(".")
    expected = hmac.new(_key(purpose), encoded.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, tag):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or payload.get("exp", 0) < time.time():
        return None
    return payload.get("d")


def _set(response: web.StreamResponse, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="Lax",
                        secure=settings().desk_secure_cookies == "1" or None)


def _clear(response: web.StreamResponse, name: str) -> None:
    response.del_cookie(name, path="/")


# --- the login session ----------------------------------------------------------------

@dataclass(frozen=True)
class DeskSession:
    id: str
    staff_id: int
    epoch: int
    csrf: str


def start_session(response: web.StreamResponse, staff_id: int, epoch: int) -> DeskSession:
    """A fresh session with a fresh CSRF token (never reuse one across logins)."""
    session = DeskSession(secrets.token_urlsafe(16), staff_id, epoch, secrets.token_urlsafe(24))
    data = {"id": session.id, "sid": staff_id, "ep": epoch, "csrf": session.csrf}
    _set(response, SESSION_COOKIE, sign(data, "session", session_seconds()), session_seconds())
    return session


def read_session(request: web.Request) -> Optional[DeskSession]:
    data = unsign(request.cookies.get(SESSION_COOKIE), "session")
    if not data:
        return None
    try:
        return DeskSession(str(data["id"]), int(data["sid"]), int(data["ep"]), str(data["csrf"]))
    except (KeyError, TypeError, ValueError):
        return None


def end_session(response: web.StreamResponse) -> None:
    _clear(response, SESSION_COOKIE)


def csrf_matches(session: DeskSession, submitted: Optional[str]) -> bool:
    return bool(submitted) and hmac.compare_digest(session.csrf, str(submitted))


# --- the login form ---------------------------------------------------------------------
# Before login there is no session to hold a CSRF token, so the form carries
# a nonce that must match a signed cookie set with it (double submit). This
# stops another site from logging a clerk into an account it controls.

def new_login_nonce() -> str:
    return secrets.token_urlsafe(18)


def set_login_nonce(response: web.StreamResponse, nonce: str) -> None:
    """Set with the form that carries the same nonce in a hidden field."""
    _set(response, LOGIN_COOKIE, sign({"n": nonce}, "login", LOGIN_FORM_SECONDS), LOGIN_FORM_SECONDS)


def login_nonce_matches(request: web.Request, submitted: Optional[str]) -> bool:
    data = unsign(request.cookies.get(LOGIN_COOKIE), "login")
    return bool(data and submitted) and hmac.compare_digest(str(data.get("n", "")), str(submitted))


def clear_login_nonce(response: web.StreamResponse) -> None:
    _clear(response, LOGIN_COOKIE)


# --- one-time messages after a redirect -------------------------------------------------

def set_flash(response: web.StreamResponse, message: str, kind: str = "ok") -> None:
    """Signed so that nobody can plant a convincing fake message in a link."""
    _set(response, FLASH_COOKIE, sign({"t": message[:400], "k": kind}, "flash", FLASH_SECONDS), FLASH_SECONDS)


def take_flash(request: web.Request) -> Optional[Dict[str, str]]:
    """The pending message; the access middleware deletes the cookie after."""
    data = unsign(request.cookies.get(FLASH_COOKIE), "flash")
    if request.cookies.get(FLASH_COOKIE):
        request["flash_taken"] = True
    return {"text": data["t"], "kind": data.get("k", "ok")} if data else None
