"""The service insights as tables: what the dashboard lists and the CSVs hold.

One definition per table, so a CSV export always says exactly what the page
shows. Cells are text, already formatted for people ("66.7%", "—" when
there is nothing to divide by). Customer messages are masked here, the last
step before they leave the server.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Sequence, Tuple

from bot.insights.report import Insights
from bot.insights.figures import Durations, Rate
from bot.insights.tracker import Message
from bot.bank.masking import mask_text
from bot.desk.common import CHANNEL_LABELS
from bot.desk.pages.deferrals import STATUS_LABELS as DEFERRAL_LABELS
from bot.desk.pages.escalations import PRIORITY_LABELS

NONE = "—"
# Spreadsheet programs run a cell starting with these as a formula: a
# customer's message must never become one (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    header: Tuple[str, ...]
    rows: Tuple[Tuple[str, ...], ...]


def pct(rate: Optional[Rate]) -> str:
    return NONE if rate is None or rate.value is None else f"{rate.value * 100:.1f}%"


def num(value: Optional[float], unit: str = "") -> str:
    return NONE if value is None else f"{value:g}{unit}"


def target_cells(rate: Rate) -> Tuple[str, str]:
    """(目标, 是否达标) of a rate."""
    if rate.target is None:
        return NONE, NONE
    met = NONE if rate.met is None else ("达标" if rate.met else "未达标")
    return f"≥{rate.target * 100:.0f}%", met


def _fraction(rate: Rate) -> str:
    return f"{rate.numerator}/{rate.denominator}"


def summary(ins: Insights) -> Table:
    figures = (
        ("线上办理占比", ins.online), ("客户满意度", ins.csat), ("关怀回访成功率", ins.callbacks),
        ("自助解决率（未转人工）", ins.containment), ("转人工率", ins.handoff_rate),
        ("人工首次回复达标率", ins.first_reply_sla), ("未识别消息占比", ins.fallback),
    )
    rows = [(label, pct(rate), _fraction(rate), *target_cells(rate)) for label, rate in figures]
    rows.append(("会话数", str(ins.conversations), NONE, NONE, NONE))
    return Table("summary", "主要指标", ("指标", "数值", "分子/分母", "目标", "是否达标"), tuple(rows))


def daily(ins: Insights) -> Table:
    rows = tuple((d.day.isoformat(), str(d.conversations), str(d.handoffs), pct(d.containment), pct(d.fallback),
                  pct(d.csat)) for d in ins.days)
    return Table("daily", "每日趋势", ("日期", "会话", "转人工", "自助解决率", "未识别占比", "满意度"), rows)


def reasons(ins: Insights) -> Table:
    rows = tuple((r.label, PRIORITY_LABELS.get(r.priority, r.priority), str(r.count), pct(r.rate))
                 for r in ins.by_reason)
    return Table("reasons", "转人工原因", ("原因", "优先级", "次数", "占会话比例"), rows)


def tags(ins: Insights) -> Table:
    rows = tuple((t.tag, str(t.count)) for t in ins.by_tag)
    return Table("tags", "转人工标签", ("标签", "次数"), rows)


def _minutes(durations: Durations) -> Tuple[str, str]:
    return num(durations.median, " 分钟"), num(durations.p90, " 分钟")


def priorities(ins: Insights) -> Table:
    rows = tuple((PRIORITY_LABELS.get(p.priority, p.priority), f"{p.sla_minutes} 分钟", str(p.count),
                  *_minutes(p.first_reply), _fraction(p.within_sla), pct(p.within_sla), *_minutes(p.resolution))
                 for p in ins.by_priority)
    return Table("sla", "人工服务时效（按优先级）",
                 ("优先级", "首次回复时限", "人工接入", "首次回复中位数", "首次回复P90", "达标/应考核", "达标率",
                  "解决用时中位数", "解决用时P90"), rows)


def branches(ins: Insights) -> Table:
    rows = tuple((b.name, str(b.capacity), str(b.booked), str(b.cancelled), str(b.no_show), str(b.checked_in),
                  str(b.held), pct(b.utilisation), pct(b.no_show_rate)) for b in ins.branches)
    return Table("branches", "各网点预约名额与预约",
                 ("网点", "预约名额", "预约", "取消", "未到店", "已签到", "有效预约", "预约名额使用率", "未到店率"), rows)


def deferrals(ins: Insights) -> Table:
    rows = tuple((DEFERRAL_LABELS.get(s.status, s.status), str(s.count)) for s in ins.deferrals)
    return Table("deferrals", "扣款日变更申请（按当前状态）", ("状态", "笔数"), rows)


def fallbacks(messages: Sequence[Message]) -> Table:
    rows = tuple((m.at.strftime("%Y-%m-%d %H:%M"), CHANNEL_LABELS.get(m.channel, m.channel), mask_text(m.text),
                  m.intent or NONE, NONE if m.confidence is None else f"{m.confidence:.2f}") for m in messages)
    return Table("fallbacks", "未识别的消息", ("时间", "渠道", "消息（已脱敏）", "识别结果", "置信度"), rows)


def notifications(ins: Insights) -> Table:
    rows = tuple((n.label, str(n.total), str(n.delivered), str(n.by_template), str(n.by_sms), str(n.pending),
                  str(n.failed), str(n.opted_out), pct(n.delivery)) for n in ins.notifications)
    return Table("notifications", "主动通知（客户不在对话里时）",
                 ("类型", "条数", "已送达", "其中微信模板", "其中短信", "发送中", "未能送达", "已退订", "送达率"), rows)


FIGURE_TABLES: Dict[str, Callable[[Insights], Table]] = {
    "summary": summary, "daily": daily, "reasons": reasons, "tags": tags, "sla": priorities,
    "branches": branches, "deferrals": deferrals, "notifications": notifications,
}


def _safe(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, which Excel needs to read Chinese correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.header)
    writer.writerows([_safe(cell) for cell in row] for row in table.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
