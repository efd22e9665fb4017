"""Charts as inline SVG, drawn on the server: no script, nothing for the page's CSP to allow.

Each chart is an ``<svg role="img">`` named by its ``<title>`` and summarised by its ``<desc>``;
each bar carries its own ``<title>`` (the exact figure, shown on hover). The page puts a data table
beside every chart: the table, not the picture, is what a screen reader reads. Colours come from
CSS classes (``.series-*`` in the dashboard's stylesheet) and reach 3:1 against white (WCAG 1.4.11).

The drawing is 360 units wide, so on a 390 px phone it is shown close to its own size and its
text stays readable; on a desktop it is capped by the stylesheet.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import ceil, log10

from markupsafe import Markup, escape

WIDTH = 360
FONT = 11


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # "failed", "recovered", "organic", "rate"...: the bar's class is ``series-<css>``
    values: Sequence[float]


def nice_max(value: float) -> float:
    """A round axis maximum at or above ``value``: 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    power = 10 ** int(log10(value) // 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open(chart_id: str, title: str, description: str, height: int) -> list[str]:
    return [
        f'<svg class="chart" id="{escape(chart_id)}" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'font-size="{FONT}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
    ]


def column_chart(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    axis_label: Callable[[float], str],
    value_label: Callable[[float], str],
    *,
    max_labels: int = 6,
    whole: bool = False,
) -> Markup:
    """Vertical bars: one group per label (a month, a range of days), one bar per series. At most
    ``max_labels`` labels are written under the axis; ``whole``: counts, gridlines at whole numbers."""
    height, left, right, top, bottom = 220, 58, 6, 10, 36
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    peak = nice_max(max((v for s in series for v in s.values), default=0))
    if whole:
        peak = 4 * ceil(peak / 4)
    out = _open(chart_id, title, description, height)
    for i in range(5):  # gridlines and the value axis
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        out.append(f'<line class="grid" x1="{left}" x2="{WIDTH - right}" y1="{_n(y)}" y2="{_n(y)}"/>')
        out.append(
            f'<text class="axis" x="{left - 4}" y="{_n(y + 4)}" text-anchor="end">'
            f"{escape(axis_label(value))}</text>"
        )
    group_w = plot_w / max(len(labels), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    every = ceil(len(labels) / max_labels) if labels else 1
    for g, label in enumerate(labels):
        x0 = left + g * group_w + group_w * 0.1
        for s_i, s in enumerate(series):
            value = s.values[g]
            h = plot_h * value / peak
            x = x0 + s_i * bar_w
            out.append(
                f'<rect class="series-{escape(s.css)}" x="{_n(x)}" y="{_n(top + plot_h - h)}" '
                f'width="{_n(max(bar_w - 1, 1))}" height="{_n(h)}">'
                f"<title>{escape(label)}, {escape(s.name)}: {escape(value_label(value))}</title></rect>"
            )
        if g % every == 0:
            out.append(
                f'<text class="axis" x="{_n(left + g * group_w + group_w / 2)}" '
                f'y="{height - bottom + 16}" text-anchor="middle">{escape(label)}</text>'
            )
    out.append(
        f'<line class="axis-line" x1="{left}" x2="{WIDTH - right}" y1="{top + plot_h}" y2="{top + plot_h}"/>'
    )
    out.append("</svg>")
    return Markup("".join(out))


@dataclass(frozen=True)
class Bar:
    label: str
    percent: float | None  # None: nothing finished yet, no bar
    note: str  # beside the bar, e.g. "62.5 % (5 of 8)"


def rate_chart(chart_id: str, title: str, description: str, bars: Sequence[Bar]) -> Markup:
    """Horizontal bars from 0 to 100 %: one per row (a decline family, a strategy, a step)."""
    row_h, left, right, top = 26, 112, 92, 6
    height = top + row_h * max(len(bars), 1) + 18
    plot_w = WIDTH - left - right
    out = _open(chart_id, title, description, height)
    for pct in (0, 50, 100):
        x = left + plot_w * pct / 100
        out.append(f'<line class="grid" x1="{_n(x)}" x2="{_n(x)}" y1="{top}" y2="{height - 16}"/>')
        out.append(f'<text class="axis" x="{_n(x)}" y="{height - 4}" text-anchor="middle">{pct} %</text>')
    for i, bar in enumerate(bars):
        y = top + i * row_h
        label = bar.label if len(bar.label) <= 18 else bar.label[:17] + "…"
        out.append(f'<text x="{left - 6}" y="{y + 17}" text-anchor="end">{escape(label)}</text>')
        if bar.percent is not None:
            w = plot_w * bar.percent / 100
            out.append(
                f'<rect class="series-rate" x="{left}" y="{y + 5}" width="{_n(max(w, 1))}" height="16">'
                f"<title>{escape(bar.label)}: {escape(bar.note)}</title></rect>"
            )
        out.append(f'<text class="axis" x="{WIDTH - right + 4}" y="{y + 17}">{escape(bar.note)}</text>')
    out.append("</svg>")
    return Markup("".join(out))
