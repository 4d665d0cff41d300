"""The national holiday schedule (法定节假日与调休) as the bank enters it.

Everyone who reads opening hours may look; only admins change it, because
one wrong row closes or opens every branch. A year is entered with one
pasted table (the State Council's notice copied into a spreadsheet), or day
by day and then confirmed complete; until then the bot tells customers the
year's schedule is not published and takes no bookings in it.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping

from aiohttp import web

from bot.bank.hours import schedule
from bot.bank.hours.schedule import Imported, ScheduleRow
from bot.bank.staff.accounts import ADMIN
from bot.clock import now
from bot.desk.access import NavItem, can, requires
from bot.desk.common import json_ok, parse_day, parse_int, run_db, text, today
from bot.desk.pages import form_action
from bot.desk.render import page

routes = web.RouteTableDef()
VIEW, MANAGE = "branches.view", "calendar.manage"
GRANTS = {ADMIN: {MANAGE}}
NAV = [NavItem("节假日安排", "/holidays", VIEW, order=35)]


def _year(request: web.Request) -> int:
    """`?year=`, else next year from the warning month on (that is the one to enter), else this year."""
    asked = request.query.get("year")
    if asked:
        return parse_int(asked, "年份")
    this_year = today()
    return this_year.year + 1 if this_year.month >= schedule.WARN_FROM_MONTH else this_year.year


def _overview(session, year: int) -> Dict[str, Any]:
    return {
        "year": year,
        "rows": schedule.entered_rows(session, year),
        "entered": schedule.year_entered(session, year),
        "known": schedule.year_known(session, year),
    }


@routes.get("/holidays")
@requires(VIEW)
@page("holidays.html")
async def holidays_page(request: web.Request) -> Dict[str, Any]:
    data = await run_db(_overview, _year(request))
    return {**data, "editable": can(request, MANAGE), "today": today()}


@routes.get("/api/holidays")
@requires(VIEW)
async def holidays_api(request: web.Request) -> web.StreamResponse:
    return json_ok(await run_db(_overview, _year(request)))


def _back(request: web.Request) -> str:
    return "/holidays"


async def _enter(request: web.Request, data: Mapping[str, Any]) -> ScheduleRow:
    return await run_db(schedule.enter_day, parse_day(text(data, "day")), text(data, "kind"), text(data, "name"),
                        by=request["staff"].username, at=now())


async def _remove(request: web.Request, data: Mapping[str, Any]):
    return await run_db(schedule.remove_day, parse_day(text(data, "day")))


async def _import(request: web.Request, data: Mapping[str, Any]) -> Imported:
    return await run_db(schedule.import_table, text(data, "table"), by=request["staff"].username, at=now())


async def _confirm(request: web.Request, data: Mapping[str, Any]) -> int:
    return await run_db(schedule.confirm_year, parse_int(text(data, "year"), "年份"),
                        by=request["staff"].username, at=now())


def _imported(result: Imported):
    years = "、".join(f"{year} 年" for year in result.years)
    return (f"已导入{years}的安排：放假 {result.holidays} 天，调休上班 {result.working_days} 天。"
            "助手和预约从现在起按这份安排。", "ok")


form_action(routes, "/holidays/days", MANAGE, run=_enter, back=_back,
            done=lambda row: (f"已登记 {row.day.isoformat()}：{row.kind_label} {row.name}".strip() + "。", "ok"))
form_action(routes, "/holidays/days/delete", MANAGE, run=_remove, back=_back,
            done=lambda day: (f"已删除 {day.isoformat()} 的登记。", "ok"))
form_action(routes, "/holidays/import", MANAGE, run=_import, back=_back, done=_imported)
form_action(routes, "/holidays/confirm", MANAGE, run=_confirm, back=_back,
            done=lambda year: (f"已确认 {year} 年的放假安排完整，助手可以按它答复客户、接受预约了。", "ok"))
