"""Small helpers every console page module uses.

Database work runs on a worker thread (`run_db`): SQLite waits on a locked
file for up to 15 s and bcrypt takes a quarter of a second, and neither may
stall the event loop that serves every other clerk.
"""
from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
from datetime import date, datetime, time
from typing import Any, Callable, Mapping, Optional, TypeVar

from aiohttp import web

from bot.bank.db import transaction
from bot.bank.refusals import Refusal
from bot.clock import local, now
from bot.settings import Settings

T = TypeVar("T")

# The settings the console was started with (bot/settings.py), for handlers.
SETTINGS = web.AppKey("settings", Settings)

# What staff call each channel, on every page (the channel names of bot/channels).
CHANNEL_LABELS = {"widget": "网页客服", "wechat": "微信公众号", "rest": "App/接口"}

# How a bank refusal reaches a program calling the JSON API: its code picks
# the HTTP status; every code not listed is a conflict with the current state.
HTTP_STATUS_BY_CODE = {"invalid": 400, "unauthenticated": 401, "forbidden": 403, "other_branch": 403,
                       "not_found": 404, "gone": 410, "unavailable": 503, "attachment_empty": 400,
                       "attachment_type": 415, "attachment_too_large": 413}


async def run_db(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`func(session, *args, **kwargs)` in one transaction, off the event loop."""

    def call() -> T:
        with transaction() as session:
            return func(session, *args, **kwargs)

    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(call))


def today() -> date:
    """The bank's today (`HELPLINE_NOW` pins it for demos and tests)."""
    return now().date()


def is_api(request: web.Request) -> bool:
    """A program is calling (the JSON API, or a page opening a websocket): a
    refusal is a status code with JSON, never a login redirect or an HTML page."""
    return request.path.startswith("/api/") or request.headers.get("Upgrade", "").lower() == "websocket"


def age_label(created_at: datetime, moment: datetime) -> str:
    """How long something has waited, e.g. "3 天", "5 小时", "12 分钟", "刚刚"."""
    minutes = int((moment - local(created_at)).total_seconds() // 60)
    if minutes < 1:
        return "刚刚"
    if minutes < 60:
        return f"{minutes} 分钟"
    if minutes < 24 * 60:
        return f"{minutes // 60} 小时"
    return f"{minutes // (24 * 60)} 天"


def error_status(error: Refusal) -> int:
    return HTTP_STATUS_BY_CODE.get(error.code, 409)


# --- reading input -----------------------------------------------------------------

async def inputs(request: web.Request) -> Mapping[str, Any]:
    """Form fields for pages, the JSON object for /api/ calls."""
    if request.method in ("GET", "HEAD"):
        return request.query
    if not is_api(request):
        return await request.post()
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Refusal("invalid", "请求内容不是有效的 JSON。") from None
    if not isinstance(body, dict):
        raise Refusal("invalid", "请求内容应是一个 JSON 对象。")
    return body


def text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value).strip()


def flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key)
    return value is True or str(value).lower() in ("1", "true", "on", "yes")


def parse_day(value: Optional[str], default: Optional[date] = None, label: str = "日期") -> date:
    """ISO date from a date picker or JSON; the default when left empty."""
    value = (value or "").strip()
    if not value:
        if default is None:
            raise Refusal("invalid", f"请选择{label}。")
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Refusal("invalid", f"{label}格式不对，应为 2026-09-30 这样的日期。") from None


def optional_day(value: Optional[str], label: str = "日期") -> Optional[date]:
    return parse_day(value, label=label) if (value or "").strip() else None


def parse_time(value: Optional[str], label: str) -> Optional[time]:
    """HH:MM from a time picker; None when left empty."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return time.fromisoformat(value if len(value) > 5 else value + ":00").replace(second=0)
    except ValueError:
        raise Refusal("invalid", f"{label}格式不对，应为 09:30 这样的时间。") from None


def parse_int(value: Any, label: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise Refusal("invalid", f"{label}请填整数。") from None


def local_path(target: Optional[str], default: str) -> str:
    """Only redirect to a path on this site (never `//evil.example`)."""
    target = (target or "").strip()
    if target.startswith("/") and not target.startswith("//") and "\\" not in target and "\n" not in target:
        return target
    return default


# --- answering -------------------------------------------------------------------------

def see_other(location: str, message: Optional[str] = None, kind: str = "ok") -> web.HTTPSeeOther:
    """A redirect after a form post, carrying a one-time message; raise it."""
    from bot.desk.security import set_flash

    response = web.HTTPSeeOther(location)
    if message:
        set_flash(response, message, kind)
    return response


def plain(value: Any) -> Any:
    """Dataclasses, dates and times as JSON-ready values (times as HH:MM)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
        for name in ("status_label", "label", "left", "bank_wide", "role_label"):
            if hasattr(type(value), name) and isinstance(getattr(type(value), name), property):
                data[name] = plain(getattr(value, name))
        return data
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return value


def json_ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(plain(data), status=status, dumps=lambda obj: json.dumps(obj, ensure_ascii=False))


def json_error(code: str, message: str, status: int) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status,
                             dumps=lambda obj: json.dumps(obj, ensure_ascii=False))
