"""Rendering console pages, and refusals as pages or JSON.

Every template gets the same base context (who is signed in, the menu, the
CSRF token, the pending one-time message) from `desk_context`, and every
page also the year whose holiday schedule is overdue (from 1 November), computed when
the page is rendered, i.e. after the access checks have identified the
person. Error pages raised by those checks get it too.
"""
from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable, Dict, Mapping

import aiohttp_jinja2
from aiohttp import web

from bot.bank.hours import schedule
from bot.bank.refusals import Refusal
from bot.bank.profile import load_profile
from bot.desk.access import NAV_KEY, SCRIPTS_KEY, Denied, Handler, can
from bot.desk.common import error_status, is_api, json_error, run_db, today
from bot.desk.security import FLASH_COOKIE, take_flash


def desk_context(request: web.Request) -> Dict[str, Any]:
    session = request.get("desk_session")
    return {
        "staff": request.get("staff"),
        "csrf_token": session.csrf if session else "",
        "nav": [item for item in request.app[NAV_KEY] if can(request, item.permission)],
        "page_scripts": [script for script in request.app[SCRIPTS_KEY] if can(request, script.permission)],
        "flash": take_flash(request),
        "bank_name": load_profile().name,
        "path": request.path,
        "here": request.path_qs,
        "css_url": request.app.router["static"].url_for(filename="desk.css"),
        "schedule_missing": None,
    }


def render(request: web.Request, template: str, context: Mapping[str, Any], status: int = 200) -> web.Response:
    return aiohttp_jinja2.render_template(template, request, {**desk_context(request), **context}, status=status)


def page(template: str) -> Callable[[Callable[[web.Request], Awaitable[Mapping[str, Any]]]], Handler]:
    """Decorate a handler that returns its template's context."""

    def wrap(handler: Callable[[web.Request], Awaitable[Mapping[str, Any]]]) -> Handler:
        @functools.wraps(handler)
        async def rendered(request: web.Request) -> web.StreamResponse:
            context = await handler(request)
            missing = await run_db(schedule.missing_next_year, today()) if request.get("staff") else None
            return render(request, template, {"schedule_missing": missing, **context})

        return rendered

    return wrap


def error_page(request: web.Request, status: int, title: str, message: str) -> web.StreamResponse:
    if is_api(request):
        code = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}.get(status, "error")
        return json_error(code, message, status)
    return render(request, "error.html", {"title": title, "message": message}, status=status)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refusals and service errors as a page or as JSON; flash cleanup."""
    try:
        response = await handler(request)
    except Denied as denied:
        response = error_page(request, 403, "没有权限", denied.message)
    except Refusal as error:
        status = error_status(error)
        response = (json_error(error.code, error.message, status) if is_api(request)
                    else error_page(request, status, "操作没有完成", error.message))
    except web.HTTPNotFound:
        response = error_page(request, 404, "页面不存在", "没有找到这个页面，请从上方菜单进入。")
    except web.HTTPRequestEntityTooLarge:   # a file over the upload limit (bot/desk/app.py)
        response = error_page(request, 413, "文件太大", "文件超过 5 MB，无法发送。请换一个小一些的文件，或截图后再发。")
    if request.get("flash_taken") and not response.prepared:
        response.del_cookie(FLASH_COOKIE, path="/")
    return response
