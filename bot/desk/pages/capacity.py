"""Tickets (号源): how many customers each half hour takes.

Two levers. A rule sets the usual count for the branch or one service and
applies to every day from today on. A day's count can be set for one day
(fewer counters open, a colleague off sick), for one service or all, for
the whole day or one slot. Below the bookings already made, staff first see
who would lose their place; confirming cancels those bookings and tells
each customer, with times to rebook (bot/bank/booking/branch_changes.py).
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Union
from urllib.parse import quote, urlencode

from aiohttp import web

from bot.bank.booking import branch_changes
from bot.bank.booking.branch_changes import CapacityCut
from bot.bank.capacity import admin as capacity_admin
from bot.bank.hours import admin as hours_admin
from bot.bank.capacity.slots import DEFAULT_CAPACITY
from bot.bank.capacity.admin import RuleChange, SlotRow
from bot.bank.formatting import chinese_date, hm
from bot.desk.access import (
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
NAV = [NavItem("预约名额", "/capacity", "branches.view", order=40, current=r"/(capacity|branches/[^/]+/capacity)")]


def _service(data: Mapping[str, Any]) -> Optional[str]:
    """Empty or "*" means every service (the branch default)."""
    value = text(data, "service")
    return None if value in ("", "*") else value


def _overview(session, branch_id: str, day, service: Optional[str], cut: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    return {
        "branch": hours_admin.branch_info(session, branch_id),
        "branches": hours_admin.branch_choices(session),
        "rules": capacity_admin.capacity_rules(session, branch_id),
        "effective": capacity_admin.effective_capacities(session, branch_id),
        "slots": capacity_admin.day_slots(session, branch_id, day, service),
        "cut": cut and {**cut, "affected": branch_changes.over_capacity(
            session, branch_id, day, cut["capacity"], at=now(), service=service, starts_at=cut["starts_at"])},
    }


def _cut_asked(query: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The cut below the bookings that staff tried (?cut=N[&starts_at=HH:MM]), to show who it affects."""
    if not text(query, "cut"):
        return None
    return {"capacity": parse_int(query.get("cut"), "名额"), "starts_at": parse_time(text(query, "starts_at"), "时段")}


@routes.get("/capacity")
@requires("branches.view")
async def capacity_index(request: web.Request) -> web.StreamResponse:
    """Like /branches: the switcher's branch, else one's own or the first."""
    staff = request["staff"]
    branch_id = branch_scope(staff, request.query.get("branch") or None) or await run_db(hours_admin.first_branch_id)
    day = request.query.get("day")
    raise web.HTTPFound(f"/branches/{branch_id}/capacity" + (f"?day={quote(day)}" if day else ""))


async def _load(request: web.Request):
    branch_id = request.match_info["branch_id"]
    require_branch(request["staff"], branch_id)
    day = parse_day(request.query.get("day"), today())
    service = _service(request.query)
    return day, service, await run_db(_overview, branch_id, day, service, _cut_asked(request.query))


@routes.get("/branches/{branch_id}/capacity")
@requires("branches.view")
@page("capacity.html")
async def capacity_page(request: web.Request) -> Dict[str, Any]:
    day, service, data = await _load(request)
    if not request["staff"].all_branches:
        data["branches"] = []
    return {**data, "day": day, "service": service, "today": today(), "default_capacity": DEFAULT_CAPACITY,
            "max_capacity": capacity_admin.MAX_CAPACITY, "editable": can(request, "branches.edit")}


@routes.get("/api/branches/{branch_id}/capacity")
@requires("branches.view")
async def capacity_api(request: web.Request) -> web.StreamResponse:
    day, service, data = await _load(request)
    data.pop("branches")
    return json_ok({**data, "day": day, "service": service, "default_capacity": DEFAULT_CAPACITY})


# --- changes ---------------------------------------------------------------------

def _back(request: web.Request) -> str:
    return f"/branches/{request.match_info['branch_id']}/capacity"


async def _set_rule(request: web.Request, data: Mapping[str, Any]) -> RuleChange:
    return await run_db(capacity_admin.set_capacity_rule, path_branch_id(request), _service(data),
                        parse_int(data.get("capacity"), "名额"), today())


async def _remove_rule(request: web.Request, data: Mapping[str, Any]) -> RuleChange:
    return await run_db(capacity_admin.remove_capacity_rule, path_branch_id(request), _service(data), today())


def _rule_done(change: RuleChange):
    if change.rule is None:
        head = "已删除这条规则，改按上一级的预约名额。"
    else:
        who = change.rule.service or "各项业务（没有单独规则的）"
        head = f"已设置{who}每半小时 {change.rule.capacity} 个号。"
    tail = f"今天起已生成的 {change.slots_changed} 个时段已同步调整" if change.slots_changed else ""
    if change.kept_at_booked:
        tail += f"，其中 {change.kept_at_booked} 个时段已约人数多于新名额，名额保留为已约人数"
    return head + (tail + "。" if tail else ""), "warn" if change.kept_at_booked else "ok"


async def _set_day(request: web.Request, data: Mapping[str, Any]):
    """Set a day's tickets; below the bookings only once staff confirmed (cancel_over)."""
    day_and_count = (path_branch_id(request), parse_day(text(data, "day")), parse_int(data.get("capacity"), "名额"))
    options = dict(today=today(), service=_service(data), starts_at=parse_time(text(data, "starts_at"), "时段"))
    if flag(data, "cancel_over"):
        seen = [reference for reference in text(data, "seen").split(",") if reference]
        return await run_db(branch_changes.cut_capacity, *day_and_count, at=now(), seen=seen, **options)
    return await run_db(capacity_admin.set_day_capacity, *day_and_count, **options)


def _day_done(result: Union[List[SlotRow], CapacityCut]):
    rows, cancelled = (result.rows, result.cancelled) if isinstance(result, CapacityCut) else (result, ())
    first = rows[0]
    if len(rows) == 1:
        head = f"{chinese_date(first.day)} {hm(first.starts_at)} {first.service}的名额已改为 {first.capacity} 个。"
    else:
        head = f"{chinese_date(first.day)}共 {len(rows)} 个时段的名额已改为 {first.capacity} 个。"
    if cancelled:
        return head + f"已取消 {len(cancelled)} 个预约（{'、'.join(cancelled)}），并通知客户改约。", "warn"
    return head, "ok"


def _show_who_loses_a_place(request: web.Request, data: Mapping[str, Any], error) -> Optional[str]:
    """A cut below the bookings (or whose list changed since) goes back to the day with the
    customers it would affect."""
    if error.code not in ("below_booked", "changed"):
        return None
    query = {"day": text(data, "day"), "service": text(data, "service"), "cut": text(data, "capacity"),
             "starts_at": text(data, "starts_at")}
    return f"{_back(request)}?{urlencode({k: v for k, v in query.items() if v})}#day"


form_action(routes, "/branches/{branch_id}/capacity/rules", "branches.edit",
            run=_set_rule, done=_rule_done, back=_back)
form_action(routes, "/branches/{branch_id}/capacity/rules/remove", "branches.edit",
            run=_remove_rule, done=_rule_done, back=_back)
form_action(routes, "/branches/{branch_id}/capacity/day", "branches.edit",
            run=_set_day, done=_day_done, back=_back, refused_back=_show_who_loses_a_place)
