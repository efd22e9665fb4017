"""The CFO report: one month's recovered, failed and organic totals (simulated recoveries excluded)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from flask import render_template, request
from sqlalchemy import func, select

from ..clock import now as clock_now
from ..extensions import db
from ..models import Client, OrganicSuccess, Recovery
from ..models.recovery import FAILED, SUCCEEDED
from ..recovery.finish import PAID_ELSEWHERE
from ..recovery.proof_report import proof_of_lift
from . import bp, client_zone, current_client
from .auth import requires

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass
class MonthSummary:
    month: str
    recovered_count: int = 0
    recovered_amounts: dict[str, int] = field(default_factory=dict)
    failed_count: int = 0
    organic_count: int = 0
    organic_amounts: dict[str, int] = field(default_factory=dict)

    @property
    def recovery_rate(self) -> float | None:
        """Recovered over finished (recovered + failed), in percent."""
        total = self.recovered_count + self.failed_count
        return 100.0 * self.recovered_count / total if total else None

    @property
    def lift_pct(self) -> float | None:
        """Contract 9.2: baseline = organic / (organic + failed initially), with Revtain adds recovered."""
        failed_initially = self.recovered_count + self.failed_count
        if not self.organic_count or not (self.organic_count + failed_initially):
            return None
        baseline = self.organic_count / (self.organic_count + failed_initially)
        with_revtain = (self.organic_count + self.recovered_count) / (self.organic_count + failed_initially)
        return (with_revtain - baseline) / baseline * 100


def month_bounds(client: Client, month: str) -> tuple[datetime, datetime]:
    year, mon = (int(p) for p in month.split("-"))
    zone = client_zone(client)
    start = datetime(year, mon, 1, tzinfo=zone)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=zone)
    return start, end


def summarise(client: Client, month: str) -> MonthSummary:
    start, end = month_bounds(client, month)
    summary = MonthSummary(month)
    own = (Recovery.client_id == client.id, Recovery.is_simulated.is_(False))
    for currency, count, total in db.session.execute(
        select(Recovery.currency, func.count(Recovery.id), func.sum(Recovery.amount))
        .where(*own, Recovery.status == SUCCEEDED,
               # a payment the billing platform collected by itself is organic (logged as such)
               Recovery.strategy_used.is_distinct_from(PAID_ELSEWHERE),
               Recovery.recovered_at >= start, Recovery.recovered_at < end)
        .group_by(Recovery.currency).order_by(Recovery.currency)
    ):
        summary.recovered_count += count
        summary.recovered_amounts[currency] = int(total or 0)
    summary.failed_count = db.session.execute(
        select(func.count(Recovery.id))
        .where(*own, Recovery.status == FAILED, Recovery.finished_at >= start, Recovery.finished_at < end)
    ).scalar_one()
    for currency, count, total in db.session.execute(
        select(OrganicSuccess.currency, func.count(OrganicSuccess.id), func.sum(OrganicSuccess.amount))
        .where(OrganicSuccess.client_id == client.id, OrganicSuccess.created_at >= start,
               OrganicSuccess.created_at < end)
        .group_by(OrganicSuccess.currency).order_by(OrganicSuccess.currency)
    ):
        summary.organic_count += count
        summary.organic_amounts[currency] = int(total or 0)
    return summary


@bp.get("/reports/cfo")
@requires("reports")
def cfo_report():
    client = current_client()
    month = request.args.get("month", "")
    error = None
    if month and not MONTH.match(month):
        error = "Choose a month as YYYY-MM."
    if not month or error:
        month = clock_now().astimezone(client_zone(client)).strftime("%Y-%m")
    proof = proof_of_lift(client, min(clock_now(), month_bounds(client, month)[1]))
    return render_template("dashboard/report.html", summary=summarise(client, month), month=month,
                           proof=proof, error=error), 400 if error else 200
