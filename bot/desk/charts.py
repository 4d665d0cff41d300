"""Charts for console pages, drawn on the server as inline SVG.

No chart library and nothing fetched from a CDN: the console runs inside a
bank's network, and a page that draws itself needs no script at all. Each
function returns markup for a template; every label is escaped. Colours
come from classes (`s0`, `s1`, …) styled in static/insights.css, so the
charts follow the console's palette. Each point and bar carries a <title>,
which browsers show as a tooltip and screen readers read out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 40
MAX_X_LABELS = 10


@dataclass(frozen=True)
class Series:
    """One line or one colour of bars: a name for the legend and one value per x (None: no data)."""

    name: str
    values: Sequence[Optional[float]]


def nice_max(value: float) -> float:
    """The top of a count axis: the smallest 2, 4, 6, 8 or 10 × 10ⁿ at or above
    `value` (at least 2), so the middle grid line is a whole number too."""
    if value <= 2:
        return 2
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (2, 4, 6, 8, 10) if step * power >= value)


def _number(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:g}"


def _svg(kind: str, name: str, title: str, body: List[str], height: int = HEIGHT) -> Markup:
    return Markup(
        f'<svg class="chart chart-{kind}" data-chart="{escape(name)}" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def _grid(top: float, percent: bool, height: int = HEIGHT) -> List[str]:
    """Three horizontal grid lines with their values."""
    parts = []
    for fraction in (0, 0.5, 1):
        y = height - BOTTOM - fraction * (height - TOP - BOTTOM)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f"{_number(top * fraction, percent)}</text>")
    return parts


def _legend(series: Sequence[Series], height: int = HEIGHT) -> List[str]:
    parts, x = [], LEFT
    for index, item in enumerate(series):
        parts.append(f'<rect class="key s{index}" x="{x}" y="{height - 14}" width="10" height="10"/>'
                     f'<text class="legend" x="{x + 14}" y="{height - 5}">{escape(item.name)}</text>')
        x += 28 + 14 * len(item.name)
    return parts


def _x_labels(labels: Sequence[str], centres: Sequence[float]) -> List[str]:
    step = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    return [f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{escape(label)}</text>'
            for index, (label, x) in enumerate(zip(labels, centres)) if index % step == 0]


def line_chart(name: str, title: str, x_labels: Sequence[str], series: Sequence[Series],
               percent: bool = False, target: Optional[float] = None) -> Markup:
    """Trend lines over days: one <circle class="point"> per known value; a
    gap (None) breaks the line. `target` draws a dashed line at that value."""
    known = [v for item in series for v in item.values if v is not None]
    top = 1.0 if percent else nice_max(max(known, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = len(x_labels)
    xs = [LEFT + (plot_w * (i + 0.5) / count) for i in range(count)]

    def y_of(value: float) -> float:
        return HEIGHT - BOTTOM - plot_h * min(value / top, 1.0)

    body = _grid(top, percent)
    if target is not None:
        y = y_of(target)
        body.append(f'<line class="target" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}">'
                    f"<title>目标 {_number(target, percent)}</title></line>")
    for index, item in enumerate(series):
        runs: List[List[Tuple[float, float]]] = [[]]
        for x, value in zip(xs, item.values):
            if value is None:
                runs.append([])
            else:
                runs[-1].append((x, y_of(value)))
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                body.append(f'<polyline class="line s{index}" points="{points}"/>')
        for label, x, value in zip(x_labels, xs, item.values):
            if value is not None:
                body.append(f'<circle class="point s{index}" cx="{x:.1f}" cy="{y_of(value):.1f}" r="3.5">'
                            f"<title>{escape(label)} {escape(item.name)}：{_number(value, percent)}</title></circle>")
    return _svg("line", name, title, body + _x_labels(x_labels, xs) + _legend(series))


def bar_chart(name: str, title: str, categories: Sequence[str], series: Sequence[Series],
              percent: bool = False) -> Markup:
    """Grouped vertical bars: one <rect class="bar"> per category and series
    (a zero is drawn as a flat bar, so every category keeps its place)."""
    known = [v for item in series for v in item.values if v is not None]
    top = 1.0 if percent else nice_max(max(known, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(categories), 1)
    bar = slot * 0.8 / max(len(series), 1)
    body = _grid(top, percent)
    centres = [LEFT + slot * (i + 0.5) for i in range(len(categories))]
    for index, item in enumerate(series):
        for category, centre, value in zip(categories, centres, item.values):
            height = plot_h * min((value or 0) / top, 1.0)
            x = centre - slot * 0.4 + bar * index
            body.append(f'<rect class="bar s{index}" x="{x:.1f}" y="{HEIGHT - BOTTOM - height:.1f}" '
                        f'width="{bar:.1f}" height="{height:.1f}">'
                        f"<title>{escape(category)} {escape(item.name)}：{_number(value or 0, percent)}</title></rect>")
    return _svg("bar", name, title, body + _x_labels(categories, centres) + _legend(series))


def hbar_chart(name: str, title: str, items: Sequence[Tuple[str, float]]) -> Markup:
    """Horizontal bars with their labels on the left: for long Chinese labels (hand-off reasons)."""
    row, label_w = 26, 150
    height = TOP + row * max(len(items), 1) + 8
    top = nice_max(max((value for _label, value in items), default=0))
    span = WIDTH - label_w - RIGHT - 40
    body = []
    for index, (label, value) in enumerate(items):
        y = TOP + row * index
        length = span * value / top
        body.append(f'<text class="axis" x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
                    f'<rect class="bar s0" x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row - 8}">'
                    f"<title>{escape(label)}：{value:g}</title></rect>"
                    f'<text class="value" x="{label_w + length + 6:.1f}" y="{y + 15}">{value:g}</text>')
    return _svg("hbar", name, title, body, height=height)
