"""Service insights (服务分析), admins only: the manager's dashboard and the
learning loop.

- `GET /insights`: figures for a period (from/to, Asia/Shanghai), optionally
  one branch and one channel, with trend lines per day and bars per branch
  drawn as inline SVG (bot.desk.charts), each against the bank's target
  where it has one.
- `GET /api/insights`: the same figures as JSON (query: from, to, branch, channel).
- `GET /insights/<table>.csv`: each table of the page (bot.desk.insights_tables).
- `GET /insights/learning` (+ `/api/insights/learning`): the period's fallback
  messages grouped by similarity; `POST /insights/learning/add` (+ the
  /api/ twin) appends a group to the reviewed NLU training file as one
  intent (bot.bank.learning).

Figures are computed on a worker thread: the tracker store is read outside
any bank transaction, and the bank part in one short transaction.
"""
from __future__ import annotations

import asyncio
import functools
from datetime import timedelta
from typing import Any, Dict, List, Mapping, Tuple
from urllib.parse import urlencode

from aiohttp import web

from bot.insights import learning
from bot.insights import report as insights
from bot.bank.hours.admin import branch_choices
from bot.bank.refusals import Refusal
from bot.insights.figures import MAX_DAYS, Period
from bot.clock import now
from bot.desk import charts, insights_tables as tables
from bot.desk.access import NavItem, requires
from bot.desk.common import CHANNEL_LABELS, json_ok, parse_day, plain, run_db, text, today
from bot.desk.pages import form_action
from bot.desk.render import page
from bot.nlu.contract import INTENTS

routes = web.RouteTableDef()
VIEW, TRAIN = "insights.view", "insights.train"
GRANTS = {"admin": {VIEW, TRAIN}}
NAV = [NavItem("服务分析", "/insights", VIEW, order=80)]
DEFAULT_DAYS = 7

# --- filters ------------------------------------------------------------------------------

class Filters:
    """The period, branch and channel asked for, checked."""

    def __init__(self, data: Mapping[str, Any], branch_ids: Tuple[str, ...]) -> None:
        last = parse_day(text(data, "to"), today(), "结束日期")
        first = parse_day(text(data, "from"), last - timedelta(days=DEFAULT_DAYS - 1), "开始日期")
        try:
            self.period = Period(first, last)
        except ValueError:
            raise Refusal("invalid", "开始日期不能晚于结束日期，且一次最多查看 "
                                        f"{MAX_DAYS} 天。") from None
        self.branch = text(data, "branch") or None
        if self.branch and self.branch not in branch_ids:
            raise Refusal("invalid", "没有这个网点，请从列表中选择。")
        self.channel = text(data, "channel") or None
        if self.channel and self.channel not in insights.CHANNELS:
            raise Refusal("invalid", "没有这个渠道，请从列表中选择。")

    def query(self, **extra: str) -> str:
        """The filters as a query string, for links that keep them."""
        values = {"from": self.period.first.isoformat(), "to": self.period.last.isoformat(),
                  "branch": self.branch or "", "channel": self.channel or "", **extra}
        return urlencode({key: value for key, value in values.items() if value})


async def _off_loop(func, *args):
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(func, *args))


async def _filters(data: Mapping[str, Any]) -> Tuple[Filters, list]:
    branches = await run_db(branch_choices)
    return Filters(data, tuple(b.id for b in branches)), branches


async def _figures(data: Mapping[str, Any]) -> Tuple[Filters, list, insights.Insights]:
    filters, branches = await _filters(data)
    figures = await _off_loop(insights.compute, filters.period, filters.branch, filters.channel)
    return filters, branches, figures


# --- the dashboard --------------------------------------------------------------------------

def _charts(ins: insights.Insights) -> Dict[str, Any]:
    days = [f"{d.day.month}/{d.day.day}" for d in ins.days]
    return {
        "volume": charts.line_chart("volume", "每日会话与转人工", days, [
            charts.Series("会话", [d.conversations for d in ins.days]),
            charts.Series("转人工", [d.handoffs for d in ins.days])]),
        "rates": charts.line_chart("rates", "每日自助解决率、未识别占比与满意度", days, [
            charts.Series("自助解决率", [d.containment.value for d in ins.days]),
            charts.Series("未识别占比", [d.fallback.value for d in ins.days]),
            charts.Series("满意度", [d.csat.value for d in ins.days])], percent=True, target=insights.CSAT_TARGET),
        "branches": charts.bar_chart("branches", "各网点预约、取消与未到店", [b.name for b in ins.branches], [
            charts.Series("有效预约", [b.held for b in ins.branches]),
            charts.Series("取消", [b.cancelled for b in ins.branches]),
            charts.Series("未到店", [b.no_show for b in ins.branches])]),
        "utilisation": charts.bar_chart("utilisation", "各网点预约名额使用率", [b.name for b in ins.branches], [
            charts.Series("预约名额使用率", [b.utilisation.value for b in ins.branches])], percent=True),
        "reasons": charts.hbar_chart("reasons", "转人工原因", [(r.label, r.count) for r in ins.by_reason]),
        "scores": charts.bar_chart("scores", "满意度评分分布", [f"{score} 分" for score in range(1, 6)], [
            charts.Series("人数", list(ins.csat_scores))]),
    }


def _helpers() -> Dict[str, Any]:
    return {"pct": tables.pct, "num": tables.num, "target_cells": tables.target_cells,
            "CHANNELS": CHANNEL_LABELS}


@routes.get("/insights")
@requires(VIEW)
@page("insights.html")
async def dashboard(request: web.Request) -> Dict[str, Any]:
    filters, branches, ins = await _figures(request.query)
    return {"ins": ins, "filters": filters, "branches": branches, "charts": _charts(ins),
            "tables": {name: build(ins) for name, build in tables.FIGURE_TABLES.items()},
            "insights_css": request.app.router["static"].url_for(filename="insights.css"), **_helpers()}


@routes.get("/api/insights")
@requires(VIEW)
async def dashboard_api(request: web.Request) -> web.StreamResponse:
    ins = (await _figures(request.query))[2]
    return json_ok({"insights": ins})


def _csv(name: str):
    @requires(VIEW)
    async def export(request: web.Request) -> web.StreamResponse:
        if name == "fallbacks":
            filters, _branches = await _filters(request.query)
            table = tables.fallbacks(await _off_loop(insights.fallback_messages, filters.period, filters.channel))
        else:
            filters, _branches, ins = await _figures(request.query)
            table = tables.FIGURE_TABLES[name](ins)
        period = filters.period
        filename = f"insights-{name}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.csv"
        return web.Response(body=tables.to_csv(table), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    return export


for _name in (*tables.FIGURE_TABLES, "fallbacks"):
    routes.get(f"/insights/{_name}.csv")(_csv(_name))


# --- the learning loop ------------------------------------------------------------------------

def _label_choices() -> List[Tuple[str, List[str]]]:
    """Labels for the picker: the contract's intents (a knowledge-base question is taught
    in the knowledge base itself, as an example of its topic)."""
    return [("意图", list(INTENTS))]


def _groups(filters: Filters) -> List[learning.Group]:
    return learning.group_messages(insights.fallback_messages(filters.period, filters.channel))


def _group_json(group: learning.Group) -> Dict[str, Any]:
    return {**plain(group), "size": group.size}


@routes.get("/insights/learning")
@requires(VIEW)
@page("insights_learning.html")
async def learning_page(request: web.Request) -> Dict[str, Any]:
    filters, branches = await _filters(request.query)
    groups = await _off_loop(_groups, filters)
    return {"filters": filters, "branches": branches, "groups": groups, "label_choices": _label_choices(),
            "reviewed_file": learning.reviewed_path().name,
            "insights_css": request.app.router["static"].url_for(filename="insights.css"), **_helpers()}


@routes.get("/api/insights/learning")
@requires(VIEW)
async def learning_api(request: web.Request) -> web.StreamResponse:
    filters, _branches = await _filters(request.query)
    groups = await _off_loop(_groups, filters)
    return json_ok({"groups": [_group_json(group) for group in groups], "labels": [
        label for _title, labels in _label_choices() for label in labels]})


def _event_ids(data: Mapping[str, Any]) -> List[int]:
    """Chosen messages: repeated `event_id` form fields, or `event_ids` in JSON."""
    values = data.getall("event_id", []) if hasattr(data, "getall") else data.get("event_ids") or []
    try:
        return [int(value) for value in values]
    except (TypeError, ValueError):
        raise Refusal("invalid", "所选消息的编号不对，请刷新页面后再试。") from None


def _add(filters: Filters, label: str, event_ids: List[int], reviewer: str) -> learning.AddResult:
    """Only messages that really were fallbacks of this period can become examples."""
    wanted = set(event_ids)
    texts = [m.text for m in insights.fallback_messages(filters.period, filters.channel) if m.event_id in wanted]
    return learning.add_examples(label, texts, reviewer, now())


async def _add_run(request: web.Request, data: Mapping[str, Any]) -> Dict[str, Any]:
    filters, _branches = await _filters(data)
    result = await _off_loop(_add, filters, text(data, "label"), _event_ids(data), request["staff"].username)
    return {"label": result.label, "file": learning.reviewed_path().name, "added": list(result.added),
            "duplicates": list(result.duplicates),
            "conflicts": [{"example": example, "label": label} for example, label in result.conflicts],
            "held_out": list(result.held_out)}


def _added_message(result: Dict[str, Any]) -> Tuple[str, str]:
    parts = []
    if result["added"]:
        parts.append(f"已把 {len(result['added'])} 条例句加入 {result['file']}（意图 {result['label']}），"
                     "下次训练模型后生效。")
    if result["duplicates"]:
        parts.append(f"{len(result['duplicates'])} 条已在训练数据中，未重复加入。")
    if result["conflicts"]:
        labels = "、".join(sorted({c["label"] for c in result["conflicts"]}))
        parts.append(f"{len(result['conflicts'])} 条已作为其他意图（{labels}）的例句，未加入，请人工核对。")
    if result["held_out"]:
        parts.append(f"{len(result['held_out'])} 条是评测集里的句子，为保证评测公正未加入。")
    return "".join(parts), ("ok" if result["added"] else "warn")


form_action(routes, "/insights/learning/add", TRAIN, run=_add_run, done=_added_message,
            back=lambda request: "/insights/learning")
