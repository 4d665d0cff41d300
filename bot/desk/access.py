"""Who may do what in the console, enforced for every route in one place.

Default deny: a route handler must be marked `@public` or
`@requires(permission)`. One marked with neither is refused for everybody,
so a page module added later cannot open a hole by forgetting. Order of
checks for every other request: signed in (else a redirect to the login
page, or 401 for /api/), then the permission (403), then for POST, PUT,
PATCH and DELETE the CSRF token from the session (403 when missing or
wrong), as the form field `csrf_token` or the `X-CSRF-Token` header.

Permissions are plain strings granted per role. A page module can bring its
own (`GRANTS`, merged by `create_app`), e.g. escalations for agents.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Awaitable, Callable, Dict, FrozenSet, Iterable, Mapping, Optional, Set
from urllib.parse import quote

from aiohttp import web
from aiohttp.web_urldispatcher import MatchInfoError, StaticResource

from bot.bank.staff.accounts import ADMIN, AGENT, BRANCH_STAFF, StaffView, staff_for_session
from bot.desk.common import is_api, run_db
from bot.desk.login_state import LOGIN_STATE
from bot.desk.security import DeskSession, csrf_matches, end_session, read_session

logger = logging.getLogger(__name__)

HOME = "/desk"                   # the console's start page ("/" is the widget demo)
SIGNED_IN = "signed_in"          # any active account
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BASE_GRANTS: Dict[str, FrozenSet[str]] = {
    AGENT: frozenset({"bookings.view", "branches.view"}),
    BRANCH_STAFF: frozenset({"bookings.view", "bookings.edit", "branches.view", "branches.edit"}),
    ADMIN: frozenset({"bookings.view", "bookings.edit", "branches.view", "branches.edit",
                      "notices.bank_wide", "staff.manage"}),
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class NavItem:
    """An entry of the top menu, shown to those with `permission`."""

    label: str
    href: str
    permission: str
    order: int = 50
    current: str = ""         # regex on the path that highlights the entry; default: starts with href

    def is_current(self, path: str) -> bool:
        return bool(re.match(self.current or re.escape(self.href), path))


@dataclass(frozen=True)
class PageScript:
    """A script every page loads for those with `permission` (e.g. the agents' alerts),
    given the websocket it talks to and the session's CSRF token."""

    filename: str
    permission: str
    socket: str


GRANTS_KEY = web.AppKey("desk_grants", dict)     # role -> frozenset of permissions
NAV_KEY = web.AppKey("desk_nav", list)           # NavItems, by order
SCRIPTS_KEY = web.AppKey("desk_scripts", list)   # PageScripts


class Denied(web.HTTPForbidden):
    """403 with a message for the clerk; rendered as a page or JSON."""

    def __init__(self, message: str = "你的账号没有权限做这件事。如需开通，请联系管理员。") -> None:
        super().__init__(text=message)
        self.message = message


def public(handler: Handler) -> Handler:
    """Reachable without signing in (the login page only)."""
    handler.desk_public = True
    return handler


def requires(permission: str = SIGNED_IN) -> Callable[[Handler], Handler]:
    def mark(handler: Handler) -> Handler:
        handler.desk_permission = permission
        return handler

    return mark


def merge_grants(extra: Iterable[Mapping[str, Iterable[str]]]) -> Dict[str, FrozenSet[str]]:
    merged: Dict[str, Set[str]] = {role: set(perms) for role, perms in BASE_GRANTS.items()}
    for grants in extra:
        for role, perms in grants.items():
            merged.setdefault(role, set()).update(perms)
    return {role: frozenset(perms) for role, perms in merged.items()}


def can(request: web.Request, permission: str) -> bool:
    staff: Optional[StaffView] = request.get("staff")
    if staff is None:
        return False
    return permission == SIGNED_IN or permission in request.app[GRANTS_KEY].get(staff.role, ())


def branch_scope(staff: StaffView, requested: Optional[str]) -> Optional[str]:
    """The branch a request may cover: branch staff only their own; agents
    and admins the one asked for, or every branch (None)."""
    if staff.all_branches:
        return requested or None
    if requested and requested != staff.branch_id:
        raise Denied(f"你只能查看和办理本网点（{staff.branch_name}）的事务。")
    return staff.branch_id


def require_branch(staff: StaffView, branch_id: str) -> None:
    branch_scope(staff, branch_id)


def path_branch_id(request: web.Request) -> str:
    """The `{branch_id}` of the URL, once the signed-in staff may act on it."""
    branch_id = request.match_info["branch_id"]
    require_branch(request["staff"], branch_id)
    return branch_id


def _unauthenticated(request: web.Request) -> web.HTTPException:
    if is_api(request):
        body = json.dumps({"error": "unauthenticated", "message": "请先登录。"}, ensure_ascii=False)
        return web.HTTPUnauthorized(text=body, content_type="application/json")
    target = "/login"
    if request.method == "GET" and request.path != HOME:
        target += "?next=" + quote(request.path_qs, safe="")
    response = web.HTTPFound(target)
    if request.cookies.get("desk_session"):
        end_session(response)  # a stale or forged cookie: let the browser drop it
    return response


async def _csrf_token_sent(request: web.Request) -> Optional[str]:
    token = request.headers.get("X-CSRF-Token")
    if token is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        token = (await request.post()).get("csrf_token")
    return token


def _is_public(request: web.Request) -> bool:
    route = request.match_info.route
    if isinstance(getattr(route, "resource", None), StaticResource):
        return True
    return getattr(request.match_info.handler, "desk_public", False)


async def live_session(request: web.Request) -> Optional[DeskSession]:
    """The request's session, unless it was ended by logging out on any console process."""
    session = read_session(request)
    if session is None or await request.app[LOGIN_STATE].session_ended(session.id):
        return None
    return session


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if isinstance(request.match_info, MatchInfoError) or _is_public(request):
        return await handler(request)  # unknown paths answer 404/405 as usual
    session = await live_session(request)
    staff = await run_db(staff_for_session, session.staff_id, session.epoch) if session else None
    if staff is None:
        raise _unauthenticated(request)
    request["staff"], request["desk_session"] = staff, session
    permission = getattr(request.match_info.handler, "desk_permission", None)
    if permission is None:
        logger.error("Route %s %s declares no permission; refused", request.method, request.path)
        raise Denied("这个页面没有设置访问权限，已拒绝访问。")
    if not can(request, permission):
        raise Denied()
    if request.method in UNSAFE_METHODS and not csrf_matches(session, await _csrf_token_sent(request)):
        raise Denied("页面已过期或来源不明（安全校验未通过）。请刷新页面后再操作一次。")
    return await handler(request)
