"""A branch's opening hours, dated exceptions and notices.

The weekly timetable is read-only here: it comes from the bank profile
(demo_bank.yml) and `make seed` would overwrite edits. Day-to-day changes —
a rotation closure, shortened hours, a holiday rota, a notice — are made
here, and the assistant tells customers at once (it asks
`bot.bank.hours` on every question).
"""
from __future__ import annotations

from typing import Any, Dict, Mapping

from aiohttp import web

from bot.bank.booking import branch_changes
from bot.bank.hours import admin as hours_admin
from bot.bank.formatting import chinese_date, hm
from bot.bank.hours.admin import HoursChange, NoticeView
from bot.desk.access import (
    Denied,
    NavItem,
    branch_scope,
    can,
    path_branch_id,
    require_branch,
    requires,
)
from bot.clock import now
from bot.desk.common import (
    flag,
    json_ok,
    optional_day,
    parse_day,
    parse_int,
    parse_time,
    run_db,
    text,
    today,
)
from bot.desk.pages import form_action
from bot.desk.render import page

routes = web.RouteTableDef()
NAV = [NavItem("营业时间与公告", "/branches", "branches.view", order=30, current=r"/branches(/[^/]+)?$")]
UPCOMING_DAYS = 14


def _settings(session, branch_id: str, day) -> Dict[str, Any]:
    return {
        "branch": hours_admin.branch_info(session, branch_id),
        "branches": hours_admin.branch_choices(session),
        "weekly": hours_admin.weekly_timetable(session, branch_id),
        "days": hours_admin.upcoming_days(session, branch_id, day, UPCOMING_DAYS),
        "exceptions": hours_admin.upcoming_exceptions(session, branch_id, day),
        "notices": hours_admin.notices_in_force(session, branch_id, day),
        "stranded": branch_changes.stranded(session, branch_id, day, UPCOMING_DAYS),
    }


@routes.get("/branches")
@requires("branches.view")
async def branches_index(request: web.Request) -> web.StreamResponse:
    """The branch picked in the switcher (`?branch=`); else branch staff go
    to their own branch and others to the first one."""
    staff = request["staff"]
    branch_id = branch_scope(staff, request.query.get("branch") or None) or await run_db(hours_admin.first_branch_id)
    raise web.HTTPFound(f"/branches/{branch_id}")


async def _load(request: web.Request) -> Dict[str, Any]:
    branch_id = request.match_info["branch_id"]
    require_branch(request["staff"], branch_id)
    return await run_db(_settings, branch_id, today())


@routes.get("/branches/{branch_id}")
@requires("branches.view")
@page("branch.html")
async def branch_page(request: web.Request) -> Dict[str, Any]:
    data = await _load(request)
    if not request["staff"].all_branches:
        data["branches"] = []
    return {**data, "today": today(), "editable": can(request, "branches.edit"),
            "bank_wide_ok": can(request, "notices.bank_wide")}


@routes.get("/api/branches")
@requires("branches.view")
async def branches_api(request: web.Request) -> web.StreamResponse:
    branches = await run_db(hours_admin.branch_choices)
    staff = request["staff"]
    return json_ok({"branches": [b for b in branches if staff.all_branches or b.id == staff.branch_id]})


@routes.get("/api/branches/{branch_id}")
@requires("branches.view")
async def branch_api(request: web.Request) -> web.StreamResponse:
    data = await _load(request)
    data.pop("branches")
    return json_ok(data)


# --- changes -------------------------------------------------------------------

def _back(request: web.Request) -> str:
    return f"/branches/{request.match_info['branch_id']}"


async def _add_exception(request: web.Request, data: Mapping[str, Any]) -> HoursChange:
    closed = flag(data, "closed") or text(data, "kind") == "closed"
    return await run_db(
        hours_admin.add_exception, path_branch_id(request), parse_day(text(data, "day")),
        closed=closed,
        opens=None if closed else parse_time(text(data, "opens"), "开门时间"),
        closes=None if closed else parse_time(text(data, "closes"), "关门时间"),
        reason=text(data, "reason"), today=today(),
    )


def _stranded(change: HoursChange) -> str:
    if not change.affected:
        return ""
    listed = "、".join(f"{hm(b.starts_at)} {b.reference}（{b.customer_phone}）" for b in change.affected[:8])
    more = f"等 {len(change.affected)} 个" if len(change.affected) > 8 else ""
    return (f" 注意：这天有 {len(change.affected)} 个预约不在营业时间内了：{listed}{more}。"
            "可在下方“受影响的预约”里一键通知客户改约。")


def _exception_added(change: HoursChange):
    row = change.exception
    what = "全天停业" if row.closed else f"营业时间改为 {hm(row.opens)}–{hm(row.closes)}"
    verb = "已更新" if change.replaced else "已设置"
    return f"{verb}{chinese_date(row.day)}：{what}（{row.reason}）。{_stranded(change)}".strip(), \
        "warn" if change.affected else "ok"


async def _remove_exception(request: web.Request, data: Mapping[str, Any]) -> HoursChange:
    exception_id = parse_int(request.match_info["exception_id"], "编号")
    return await run_db(hours_admin.remove_exception, path_branch_id(request), exception_id, today())


def _exception_removed(change: HoursChange):
    return f"已取消{chinese_date(change.exception.day)}的临时调整，恢复平常的营业时间。{_stranded(change)}".strip(), \
        "warn" if change.affected else "ok"


async def _add_notice(request: web.Request, data: Mapping[str, Any]) -> NoticeView:
    branch_id = path_branch_id(request)
    if flag(data, "bank_wide"):
        if not can(request, "notices.bank_wide"):
            raise Denied("只有管理员可以发布全行公告。")
        branch_id = None
    return await run_db(
        hours_admin.add_notice, branch_id, text(data, "body"),
        starts_on=parse_day(text(data, "starts_on"), today(), "开始日期"),
        ends_on=optional_day(text(data, "ends_on"), "结束日期"), today=today(),
    )


def _notice_added(notice: NoticeView):
    scope = "全行公告" if notice.bank_wide else "公告"
    return f"{scope}已发布，从{chinese_date(notice.starts_on)}起，客户问营业时间时助手会一并告知。", "ok"


async def _end_notice(request: web.Request, data: Mapping[str, Any]) -> NoticeView:
    notice_id = parse_int(request.match_info["notice_id"], "编号")
    return await run_db(hours_admin.end_notice, notice_id, branch_id=path_branch_id(request), today=today(),
                        bank_wide_ok=can(request, "notices.bank_wide"))


async def _notify_stranded(request: web.Request, data: Mapping[str, Any]):
    day = parse_day(text(data, "day"))
    return day, await run_db(branch_changes.notify_stranded, path_branch_id(request), day, at=now())


def _stranded_notified(result):
    day, references = result
    if not references:
        return f"{chinese_date(day)}已经没有需要通知的预约了。", "ok"
    return (f"已取消{chinese_date(day)}的 {len(references)} 个预约，并通知客户改约（{'、'.join(references)}）。"
            "客户会在原来的渠道或短信里收到最近的可约时段。", "ok")


form_action(routes, "/branches/{branch_id}/stranded/notify", "branches.edit",
            run=_notify_stranded, done=_stranded_notified, back=_back)
form_action(routes, "/branches/{branch_id}/exceptions", "branches.edit",
            run=_add_exception, done=_exception_added, back=_back)
form_action(routes, "/branches/{branch_id}/exceptions/{exception_id:\\d+}/delete", "branches.edit",
            run=_remove_exception, done=_exception_removed, back=_back)
form_action(routes, "/branches/{branch_id}/notices", "branches.edit",
            run=_add_notice, done=_notice_added, back=_back)
form_action(routes, "/branches/{branch_id}/notices/{notice_id:\\d+}/end", "branches.edit",
            run=_end_notice, done=lambda notice: ("公告已结束，今天起不再显示。", "ok"), back=_back)
