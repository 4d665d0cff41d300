"""Accounts (admins only): list, add, disable or enable, set a password.

An admin types the new person's first password and tells it to them in
person; the console never shows or sends passwords afterwards.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping

from aiohttp import web

from bot.bank.hours import admin as hours_admin
from bot.clock import now
from bot.bank.staff import accounts
from bot.desk.access import NavItem, requires
from bot.bank.staff.accounts import ROLE_LABELS, StaffView
from bot.desk.common import flag, json_ok, parse_int, run_db, text
from bot.desk.pages import form_action
from bot.desk.render import page

routes = web.RouteTableDef()
NAV = [NavItem("员工账号", "/staff", "staff.manage", order=90)]


def _overview(session) -> Dict[str, Any]:
    return {"people": accounts.list_staff(session), "branches": hours_admin.branch_choices(session)}


@routes.get("/staff")
@requires("staff.manage")
@page("staff.html")
async def staff_page(request: web.Request) -> Dict[str, Any]:
    return {**await run_db(_overview), "roles": ROLE_LABELS, "min_password": accounts.MIN_PASSWORD}


@routes.get("/api/staff")
@requires("staff.manage")
async def staff_api(request: web.Request) -> web.StreamResponse:
    data = await run_db(_overview)
    return json_ok({"staff": data["people"]})


async def _create(request: web.Request, data: Mapping[str, Any]) -> StaffView:
    return await run_db(
        accounts.create_staff, username=text(data, "username"), display_name=text(data, "display_name"),
        role=text(data, "role"), password=str(data.get("password") or ""), when=now(),
        branch_id=text(data, "branch_id") or None, team=text(data, "team"),
    )


async def _set_active(request: web.Request, data: Mapping[str, Any]) -> StaffView:
    staff_id = parse_int(request.match_info["staff_id"], "编号")
    return await run_db(accounts.set_active, staff_id, flag(data, "active"), request["staff"].id)


async def _set_password(request: web.Request, data: Mapping[str, Any]) -> StaffView:
    staff_id = parse_int(request.match_info["staff_id"], "编号")
    return await run_db(accounts.set_password, staff_id, str(data.get("password") or ""))


def _back(request: web.Request) -> str:
    return "/staff"


form_action(routes, "/staff", "staff.manage", run=_create, back=_back,
            done=lambda s: (f"已为{s.display_name}开通{s.role_label}账号 {s.username}，请当面告知初始密码。", "ok"))
form_action(routes, "/staff/{staff_id:\\d+}/active", "staff.manage", run=_set_active, back=_back,
            done=lambda s: (f"{s.display_name}的账号已{'启用' if s.active else '停用，已登录的设备会立即退出'}。", "ok"))
form_action(routes, "/staff/{staff_id:\\d+}/password", "staff.manage", run=_set_password, back=_back,
            done=lambda s: (f"{s.display_name}的密码已重设，原来登录的设备都需要重新登录。", "ok"))
