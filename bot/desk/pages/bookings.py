"""A day's bookings per branch, with check-in and no-show at the counter.

Branch staff see their own branch; agents and admins pick a branch or see
all of them. Agents read only (they answer customers' questions about their
bookings); branch staff and admins check people in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Dict, List, Mapping, Optional

from aiohttp import web

from bot.bank.booking import counter
from bot.bank.hours import admin as hours_admin
from bot.bank.booking.counter import DeskBooking
from bot.bank.booking.models import BookingStatus
from bot.bank.refusals import Refusal
from bot.clock import now
from bot.desk.access import NavItem, branch_scope, can, requires
from bot.desk.common import json_ok, parse_day, run_db, today
from bot.desk.pages import form_action
from bot.desk.render import page

routes = web.RouteTableDef()
NAV = [NavItem("预约签到", "/bookings", "bookings.view", order=20)]

ACTIONS = {
    "check-in": counter.check_in,
    "no-show": counter.mark_no_show,
    "undo": counter.undo_mark,
}


@dataclass(frozen=True)
class Row:
    """A booking and the buttons the counter may press for it right now."""

    booking: DeskBooking
    can_check_in: bool
    can_no_show: bool
    can_undo: bool


def _row(booking: DeskBooking, moment: datetime, editable: bool) -> Row:
    is_today = booking.day == moment.date()
    started = datetime.combine(booking.day, booking.starts_at) <= moment.replace(tzinfo=None)
    return Row(
        booking,
        can_check_in=editable and is_today and booking.status in (BookingStatus.ACTIVE, BookingStatus.NO_SHOW),
        can_no_show=editable and started and booking.status == BookingStatus.ACTIVE,
        can_undo=editable and is_today and booking.status in (BookingStatus.CHECKED_IN, BookingStatus.NO_SHOW),
    )


def _counts(bookings: List[DeskBooking]) -> Dict[str, int]:
    counts = {status: 0 for status in counter.STATUS_LABELS}
    for booking in bookings:
        counts[booking.status] = counts.get(booking.status, 0) + 1
    counts["total"] = len(bookings) - counts.get(BookingStatus.CANCELLED, 0)
    return counts


def _board(session, day: date, scope: Optional[str]) -> Dict[str, Any]:
    branches = hours_admin.branch_choices(session)
    if scope is not None and scope not in {branch.id for branch in branches}:
        raise Refusal("not_found", "没有这个网点。")
    return {"branches": branches, "bookings": counter.bookings_on(session, day, scope)}


def _groups(branches, bookings: List[DeskBooking], scope: Optional[str], moment: datetime,
            editable: bool) -> List[Dict[str, Any]]:
    """Per branch, in the usual branch order; empty branches only when one
    branch was asked for (so "全部网点" stays short)."""
    groups = []
    for branch in branches:
        own = [b for b in bookings if b.branch_id == branch.id]
        if own or branch.id == scope:
            visible = [_row(b, moment, editable) for b in own if b.status != BookingStatus.CANCELLED]
            groups.append({"branch": branch, "rows": visible, "counts": _counts(own)})
    return groups


async def _load(request: web.Request):
    staff = request["staff"]
    day = parse_day(request.query.get("day"), today())
    scope = branch_scope(staff, request.query.get("branch") or None)
    data = await run_db(_board, day, scope)
    return day, scope, data


@routes.get("/bookings")
@requires("bookings.view")
@page("bookings.html")
async def bookings_page(request: web.Request) -> Dict[str, Any]:
    day, scope, data = await _load(request)
    moment = now()
    editable = can(request, "bookings.edit")
    return {
        "day": day, "today": moment.date(), "scope": scope, "editable": editable,
        "branches": data["branches"] if request["staff"].all_branches else [],
        "groups": _groups(data["branches"], data["bookings"], scope, moment, editable),
        "prev_day": day.fromordinal(day.toordinal() - 1), "next_day": day.fromordinal(day.toordinal() + 1),
    }


@routes.get("/api/bookings")
@requires("bookings.view")
async def bookings_api(request: web.Request) -> web.StreamResponse:
    day, scope, data = await _load(request)
    return json_ok({"day": day, "branch": scope, "bookings": data["bookings"]})


async def _mark(request: web.Request, data: Mapping[str, Any]) -> DeskBooking:
    """Check-in, no-show or undo; branch staff only within their branch."""
    staff = request["staff"]
    scope = None if staff.all_branches else staff.branch_id
    action = ACTIONS[request.match_info["action"]]
    return await run_db(action, request.match_info["reference"], now(), scope)


def _done(booking: DeskBooking):
    who = f"{booking.customer_name or booking.customer_phone}（{booking.reference}）"
    if booking.status == BookingStatus.CHECKED_IN:
        return f"{who}已签到。", "ok"
    if booking.status == BookingStatus.NO_SHOW:
        return f"{who}已标记为未到店。", "ok"
    return f"已撤销，{who} 恢复为待到店。", "ok"


form_action(routes, "/bookings/{reference}/{action:check-in|no-show|undo}", "bookings.edit",
            run=_mark, done=_done, back=lambda request: "/bookings")
