"""The report's charts, drawn from its figures (the page puts each one beside its data table)."""

from __future__ import annotations

from datetime import date

from babel.dates import format_date
from babel.numbers import format_compact_currency, format_currency
from markupsafe import Markup

from ..formatting import DEFAULT_LOCALE, major_units, money
from .breakdowns import RateRow, StepRow
from .charts import Bar, Series, column_chart, rate_chart
from .report import Report

SERIES = (("failed", "Failed payments"), ("recovered", "Recovered"), ("organic", "Paid first time (organic)"))
SHORT_DAYS = ("0", "1-2", "3-6", "7-13", "14-29", "30+")


def month_label(month: str) -> str:
    """``"2026-03"`` -> ``"Mar 2026"``."""
    return format_date(date(int(month[:4]), int(month[5:7]), 1), "MMM yyyy", locale=DEFAULT_LOCALE)


def axis_money(currency: str):
    def label(minor: float) -> str:
        major = major_units(int(minor), currency)
        if major >= 1000:
            return format_compact_currency(major, currency, locale=DEFAULT_LOCALE, fraction_digits=1)
        return format_currency(
            major, currency, format="¤#,##0.##", locale=DEFAULT_LOCALE, currency_digits=False
        )

    return label


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} %"


def _rate_bars(rows: list[RateRow] | list[StepRow]) -> list[Bar]:
    bars = []
    for row in rows:
        done = row.finished if isinstance(row, RateRow) else row.reached
        won = row.recovered if isinstance(row, RateRow) else row.recovered_after
        bars.append(Bar(row.label, row.rate, f"{_percent(row.rate)} ({won}/{done})"))
    return bars


def charts(report: Report) -> dict[str, Markup]:
    """``trend-<CUR>`` per currency, ``families``, ``strategies``, ``steps`` and ``days``."""
    out: dict[str, Markup] = {}
    for currency, months in report.trend.items():
        labels = [month_label(m.month) for m in months]
        series = [Series(name, css, [getattr(m, f"{css}_amount") for m in months]) for css, name in SERIES]
        totals = {css: money(sum(getattr(m, f"{css}_amount") for m in months), currency) for css, _ in SERIES}
        out[f"trend-{currency}"] = column_chart(
            f"chart-trend-{currency}",
            f"Monthly amounts in {currency}",
            f"{labels[0]} to {labels[-1]}: failed payments {totals['failed']}, "
            f"recovered {totals['recovered']}, paid first time {totals['organic']}. "
            "The table beside the chart has each month.",
            labels,
            series,
            axis_money(currency),
            lambda v, c=currency: money(int(v), c),
            max_labels=4,
        )
    for key, title, rows in (
        ("families", "Recovery rate by decline family", report.families),
        ("strategies", "Recovery rate by strategy", report.strategies),
        ("steps", "Recovery rate by dunning step", report.steps),
    ):
        if rows:
            bars = _rate_bars(rows)
            summary = "; ".join(f"{b.label}: {b.note}" for b in bars[:8])
            out[key] = rate_chart(
                f"chart-{key}", title, summary + ". The table beside the chart has every row.", bars
            )
    if report.days.count:
        d = report.days
        out["days"] = column_chart(
            "chart-days",
            "Days to recover",
            f"{d.count} payments recovered, median {d.median_days} days. "
            + "; ".join(f"{label}: {n}" for label, n in d.buckets)
            + ".",
            list(SHORT_DAYS),
            [Series("Recovered payments", "recovered", [n for _, n in d.buckets])],
            lambda v: f"{v:g}",
            lambda v: f"{v:g} payments",
            whole=True,
        )
    return out
