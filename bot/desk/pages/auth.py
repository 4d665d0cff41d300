"""Signing in and out, the home page, and who am I (`/api/me`).

Five wrong passwords, each within 15 minutes of the one before, lock that
username until 15 minutes after the last one, on every console process
(counted in bot/desk/login_state.py, in Redis when configured); bcrypt makes
each guess slow too. Logging out ends the session for good, not only in
this browser.
"""
from __future__ import annotations

from typing import Optional

from aiohttp import web

from bot.clock import now
from bot.desk.access import GRANTS_KEY, HOME, NAV_KEY, can, live_session, public, requires
from bot.bank.staff.accounts import authenticate, normalise_username, staff_for_session
from bot.desk.common import json_ok, local_path, run_db, see_other
from bot.desk.login_state import LOGIN_STATE
from bot.desk.render import render
from bot.desk.security import (
    clear_login_nonce,
    end_session,
    login_nonce_matches,
    new_login_nonce,
    session_seconds,
    set_login_nonce,
    start_session,
)

routes = web.RouteTableDef()
NAV: list = []

MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60


def _login_page(request: web.Request, *, target: str, username: str = "", error: Optional[str] = None,
                status: int = 200) -> web.Response:
    nonce = new_login_nonce()
    response = render(request, "login.html",
                      {"login_token": nonce, "next": target, "username": username, "error": error}, status=status)
    set_login_nonce(response, nonce)
    return response


async def _signed_in(request: web.Request) -> bool:
    session = await live_session(request)
    return bool(session) and await run_db(staff_for_session, session.staff_id, session.epoch) is not None


@routes.get("/login")
@public
async def login_form(request: web.Request) -> web.StreamResponse:
    target = local_path(request.query.get("next"), HOME)
    if await _signed_in(request):
        raise web.HTTPSeeOther(target)
    return _login_page(request, target=target)


@routes.post("/login")
@public
async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = normalise_username(str(form.get("username", "")))
    target = local_path(str(form.get("next", "")), HOME)
    if not login_nonce_matches(request, form.get("login_token")):
        return _login_page(request, target=target, username=username, status=403,
                           error="登录页面已过期，请重新输入用户名和密码。")
    logins = request.app[LOGIN_STATE]
    if await logins.failures(username) >= MAX_FAILURES:
        return _login_page(request, target=target, username=username, status=429,
                           error="这个账号密码输错次数太多，请 15 分钟后再试，或请管理员重置密码。")
    staff = await run_db(authenticate, username, str(form.get("password", "")), now())
    if staff is None:
        await logins.failed(username, LOCK_SECONDS)
        return _login_page(request, target=target, username=username, status=401,
                           error="用户名或密码不对，或者账号已停用。")
    await logins.succeeded(username)
    response = web.HTTPSeeOther(target)
    start_session(response, staff.id, staff.session_epoch)
    clear_login_nonce(response)
    raise response


@routes.post("/logout")
@requires()
async def logout(request: web.Request) -> web.StreamResponse:
    await request.app[LOGIN_STATE].end_session(request["desk_session"].id, session_seconds())
    response = see_other("/login", "你已退出登录。")
    end_session(response)
    raise response


@routes.get(HOME)
@requires()
async def home(request: web.Request) -> web.StreamResponse:
    """The first menu entry this person may open: agents and admins land on
    the escalation queue, branch staff on their bookings."""
    for item in request.app[NAV_KEY]:
        if can(request, item.permission):
            raise web.HTTPFound(item.href)
    return render(request, "error.html",
                  {"title": "暂无可用功能", "message": "你的账号还没有开通任何功能，请联系管理员。"})


@routes.get("/api/me")
@requires()
async def me(request: web.Request) -> web.StreamResponse:
    """The signed-in account and the CSRF token to send as `X-CSRF-Token`."""
    staff = request["staff"]
    grants = sorted(request.app[GRANTS_KEY].get(staff.role, ()))
    return json_ok({
        "username": staff.username, "display_name": staff.display_name, "role": staff.role,
        "role_label": staff.role_label, "branch_id": staff.branch_id, "branch_name": staff.branch_name,
        "permissions": grants, "csrf_token": request["desk_session"].csrf,
        "menu": [{"label": item.label, "href": item.href} for item in request.app[NAV_KEY]
                 if can(request, item.permission)],
    })

