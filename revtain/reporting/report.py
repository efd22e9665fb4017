"""The CFO report as one object: every figure for a client and a filter, and its CSV rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, union

from ..extensions import db
from ..formatting import major_units
from ..models import Client, OrganicSuccess, Recovery
from ..recovery.proof_report import ProofOfLift, proof_of_lift
from . import breakdowns, figures
from .filters import ReportFilter

CSV_HEADER = ("section", "label", "currency", "measure", "value")


@dataclass(frozen=True)
class Report:
    filter: ReportFilter
    summary: figures.Summary
    trend: dict[str, list[figures.MonthRow]]
    at_risk: list[figures.AtRisk]
    families: list[breakdowns.RateRow]
    strategies: list[breakdowns.RateRow]
    steps: list[breakdowns.StepRow]
    days: breakdowns.DaysToRecover
    proof: ProofOfLift | None
    currencies: list[str]  # every currency the client has figures in: the filter's choices

    @property
    def empty(self) -> bool:
        return not (self.trend or self.at_risk or self.summary.failed_count)


def currencies(client_id: str) -> list[str]:
    rows = db.session.execute(
        union(
            select(Recovery.currency).where(
                Recovery.client_id == client_id, Recovery.is_simulated.is_(False)
            ),
            select(OrganicSuccess.currency).where(OrganicSuccess.client_id == client_id),
        )
    ).scalars()
    return sorted(set(rows))


def build(client: Client, f: ReportFilter, now: datetime) -> Report:
    """The report; Proof Mode's figures are as of the end of the range (or now, if sooner)."""
    return Report(
        filter=f,
        summary=figures.summary(client.id, f),
        trend=figures.trend(client.id, f),
        at_risk=figures.at_risk(client.id, f),
        families=breakdowns.by_decline_family(client.id, f),
        strategies=breakdowns.by_strategy(client.id, f),
        steps=breakdowns.by_dunning_step(client.id, f),
        days=breakdowns.days_to_recover(client.id, f),
        proof=proof_of_lift(client, min(now, f.end)),
        currencies=currencies(client.id),
    )


def _amount(minor: int, currency: str) -> str:
    """For spreadsheets: major units with the currency's digits, a dot, no symbol (``49.00``)."""
    return str(major_units(minor, currency))


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def rows(report: Report) -> Iterator[tuple[str, str, str, str, str]]:
    """The report in long form: one figure a row (section, label, currency, measure, value)."""
    s = report.summary
    yield "summary", "", "", "recovered_count", str(s.recovered_count)
    for cur, amount in s.recovered_amounts.items():
        yield "summary", "", cur, "recovered_amount", _amount(amount, cur)
    yield "summary", "", "", "failed_count", str(s.failed_count)
    yield "summary", "", "", "recovery_rate_percent", _pct(s.recovery_rate)
    yield "summary", "", "", "organic_count", str(s.organic_count)
    for cur, amount in s.organic_amounts.items():
        yield "summary", "", cur, "organic_amount", _amount(amount, cur)
    yield "summary", "", "", "lift_percent", _pct(s.lift_pct)
    for cur, months in report.trend.items():
        for m in months:
            for what in ("failed", "recovered", "organic"):
                yield "trend", m.month, cur, f"{what}_count", str(getattr(m, f"{what}_count"))
                yield "trend", m.month, cur, f"{what}_amount", _amount(getattr(m, f"{what}_amount"), cur)
    for r in report.at_risk:
        for what in ("recovered", "lost", "at_risk"):
            yield "recovered_vs_at_risk", "", r.currency, f"{what}_count", str(getattr(r, f"{what}_count"))
            yield (
                "recovered_vs_at_risk",
                "",
                r.currency,
                f"{what}_amount",
                _amount(getattr(r, f"{what}_amount"), r.currency),
            )
    for section, table in (("decline_family", report.families), ("strategy", report.strategies)):
        for row in table:
            for measure in ("recovered", "lost", "open"):
                yield section, row.key, "", measure, str(getattr(row, measure))
            yield section, row.key, "", "recovery_rate_percent", _pct(row.rate)
    for step in report.steps:
        yield "dunning_step", str(step.position), "", "reached", str(step.reached)
        yield "dunning_step", str(step.position), "", "recovered_after", str(step.recovered_after)
        yield "dunning_step", str(step.position), "", "recovery_rate_percent", _pct(step.rate)
    yield "days_to_recover", "", "", "recovered_count", str(report.days.count)
    yield (
        "days_to_recover",
        "",
        "",
        "median_days",
        "" if report.days.median_days is None else str(report.days.median_days),
    )
    for label, count in report.days.buckets:
        yield "days_to_recover", label, "", "count", str(count)
    yield from _proof_rows(report.proof)


def _proof_rows(proof: ProofOfLift | None) -> Iterator[tuple[str, str, str, str, str]]:
    if proof is None:
        return
    c = proof.comparison
    for name, o in (("treatment", c.treatment), ("control", c.control)):
        yield "proof_mode", name, "", "counted_invoices", str(o.invoices)
        yield "proof_mode", name, "", "paid_in_window", str(o.recovered)
        yield "proof_mode", name, "", "recovery_rate_percent", _pct(None if o.rate is None else 100 * o.rate)
    yield "proof_mode", "", "", "uplift_points", _pct(c.uplift_points)
    low, high = c.interval_points or (None, None)
    yield "proof_mode", "", "", "ci95_low_points", _pct(low)
    yield "proof_mode", "", "", "ci95_high_points", _pct(high)
    yield "proof_mode", "", "", "p_value", "" if c.p_value is None else f"{c.p_value:.4f}"
    yield "proof_mode", "", "", "verdict", c.verdict


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(rows(report))
    return out.getvalue()
