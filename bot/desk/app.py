"""The staff console's web application (aiohttp, server-rendered pages).

`create_app()` builds it from page modules (bot/desk/pages/); it does not
touch the database schema, so tests can point it at a scratch database and
`python -m bot.desk` migrates and seeds before serving.
"""
from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Optional, Sequence

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.bank.booking.counter import STATUS_LABELS
from bot.bank.handoff.attachments import MAX_BYTES
from bot.bank.formatting import WEEKDAY_LABELS, chinese_date, hm, month_day
from bot.desk import alerts, live_chat
from bot.bank.staff.accounts import ROLE_LABELS
from bot.desk.access import GRANTS_KEY, NAV_KEY, SCRIPTS_KEY, access_middleware, merge_grants
from bot.desk.common import SETTINGS
from bot.desk.login_state import LOGIN_STATE, login_state
from bot.desk.pages import (
    attachments,
    auth,
    bookings,
    branches,
    canned,
    capacity,
    case_search,
    case_tags,
    deferrals,
    escalations,
    holidays,
    insights,
    knowledge,
    notifications,
    staff,
    suggestions,
    supervision,
    widget_demo,
)
from bot.desk.render import errors_middleware
from bot.settings import Settings, settings

HERE = Path(__file__).resolve().parent
MAX_UPLOAD = MAX_BYTES * 4 // 3 + 256 * 1024   # a 5 MB file, base64 in JSON included
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

PAGE_MODULES: Sequence[ModuleType] = (escalations, live_chat, alerts, auth, bookings, branches, capacity, deferrals, holidays,
                                      notifications, staff, insights, knowledge, widget_demo, canned, suggestions,
                                      case_search, case_tags, supervision, attachments)


def _setup_templates(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(hm=hm, chinese_date=chinese_date, day_label=month_day)
    env.globals.update(STATUS_LABELS=STATUS_LABELS, ROLE_LABELS=ROLE_LABELS, WEEKDAY_LABELS=WEEKDAY_LABELS)


async def _close_login_state(app: web.Application) -> None:
    await app[LOGIN_STATE].close()


def create_app(pages: Sequence[ModuleType] = PAGE_MODULES, config: Optional[Settings] = None) -> web.Application:
    """The console with these page modules (routes, menu entries, grants) and settings."""
    # Room for a 5 MB file an agent sends, and its form fields.
    app = web.Application(middlewares=[errors_middleware, access_middleware], client_max_size=MAX_UPLOAD)
    app[SETTINGS] = config or settings()
    _setup_templates(app)
    app[GRANTS_KEY] = merge_grants(getattr(module, "GRANTS", {}) for module in pages)
    app[NAV_KEY] = sorted((item for module in pages for item in getattr(module, "NAV", ())),
                         key=lambda item: item.order)
    app[SCRIPTS_KEY] = [script for module in pages for script in getattr(module, "SCRIPTS", ())]
    app[LOGIN_STATE] = login_state(app[SETTINGS].redis_url)
    app.on_cleanup.append(_close_login_state)
    for module in pages:
        app.router.add_routes(module.routes)
        getattr(module, "prepare", lambda _app: None)(app)
    app.router.add_static("/static/", STATIC, name="static", append_version=True)
    return app
