"""The report's headline figures, its monthly trend and recovered vs still at risk.

Each figure is one aggregate query (months are ``CASE`` buckets over the range's bounds in the
merchant's timezone, so SQLite and PostgreSQL agree). Amounts stay integers in minor units, per
currency: amounts in different currencies are never added up.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select

from ..extensions import db
from ..models import OrganicSuccess, Recovery
from .filters import ReportFilter
from .outcomes import AT_RISK, LOST, RECOVERED, own, rate


@dataclass
class Summary:
    recovered_count: int = 0
    recovered_amounts: dict[str, int] = field(default_factory=dict)
    failed_count: int = 0
    organic_count: int = 0
    organic_amounts: dict[str, int] = field(default_factory=dict)

    @property
    def recovery_rate(self) -> float | None:
        """Recovered over finished (recovered + failed) in the range, in percent."""
        return rate(self.recovered_count, self.recovered_count + self.failed_count)

    @property
    def lift_pct(self) -> float | None:
        """Contract 9.2: baseline = organic / (organic + failed initially), with Revtain adds recovered."""
        failed_initially = self.recovered_count + self.failed_count
        if not self.organic_count:
            return None
        baseline = self.organic_count / (self.organic_count + failed_initially)
        with_revtain = (self.organic_count + self.recovered_count) / (self.organic_count + failed_initially)
        return (with_revtain - baseline) / baseline * 100


@dataclass
class MonthRow:
    """One month of one currency: what failed (recoveries opened), was recovered and paid organically."""

    month: str
    currency: str
    failed_count: int = 0
    failed_amount: int = 0
    recovered_count: int = 0
    recovered_amount: int = 0
    organic_count: int = 0
    organic_amount: int = 0


@dataclass
class AtRisk:
    """The recoveries opened in the range, by where they stand now, per currency."""

    currency: str
    recovered_count: int = 0
    recovered_amount: int = 0
    lost_count: int = 0
    lost_amount: int = 0
    at_risk_count: int = 0
    at_risk_amount: int = 0


def _in(column, f: ReportFilter) -> tuple:
    return column >= f.start, column < f.end


def _organic_where(client_id: str, f: ReportFilter) -> tuple:
    where = (OrganicSuccess.client_id == client_id, *_in(OrganicSuccess.created_at, f))
    return where + ((OrganicSuccess.currency == f.currency,) if f.currency else ())


def summary(client_id: str, f: ReportFilter) -> Summary:
    out = Summary()
    for currency, count, total in db.session.execute(
        select(Recovery.currency, func.count(Recovery.id), func.sum(Recovery.amount))
        .where(*own(client_id, f), RECOVERED, *_in(Recovery.recovered_at, f))
        .group_by(Recovery.currency)
        .order_by(Recovery.currency)
    ):
        out.recovered_count += count
        out.recovered_amounts[currency] = int(total or 0)
    out.failed_count = db.session.execute(
        select(func.count(Recovery.id)).where(*own(client_id, f), LOST, *_in(Recovery.finished_at, f))
    ).scalar_one()
    for currency, count, total in db.session.execute(
        select(OrganicSuccess.currency, func.count(OrganicSuccess.id), func.sum(OrganicSuccess.amount))
        .where(*_organic_where(client_id, f))
        .group_by(OrganicSuccess.currency)
        .order_by(OrganicSuccess.currency)
    ):
        out.organic_count += count
        out.organic_amounts[currency] = int(total or 0)
    return out


def _month_bucket(column, bounds: list[datetime]):
    """0 for the first month, 1 for the second...: the month a timestamp in the range falls in."""
    return case(*((column < end, i) for i, end in enumerate(bounds)), else_=len(bounds))


def trend(client_id: str, f: ReportFilter) -> dict[str, list[MonthRow]]:
    """Per currency, one row per month of the range (months with nothing are zeros)."""
    months = f.months()
    bounds = [end for _, _, end in months]
    found: dict[str, dict[int, MonthRow]] = defaultdict(dict)

    def row(currency: str, i: int) -> MonthRow:
        return found[currency].setdefault(i, MonthRow(months[i][0], currency))

    measures = (
        ("failed", Recovery.created_at, ()),
        ("recovered", Recovery.recovered_at, (RECOVERED,)),
    )
    for name, column, extra in measures:
        bucket = _month_bucket(column, bounds)
        for i, currency, count, total in db.session.execute(
            select(bucket, Recovery.currency, func.count(Recovery.id), func.sum(Recovery.amount))
            .where(*own(client_id, f), *extra, *_in(column, f))
            .group_by(bucket, Recovery.currency)
        ):
            setattr(row(currency, i), f"{name}_count", int(count))
            setattr(row(currency, i), f"{name}_amount", int(total or 0))
    bucket = _month_bucket(OrganicSuccess.created_at, bounds)
    for i, currency, count, total in db.session.execute(
        select(
            bucket, OrganicSuccess.currency, func.count(OrganicSuccess.id), func.sum(OrganicSuccess.amount)
        )
        .where(*_organic_where(client_id, f))
        .group_by(bucket, OrganicSuccess.currency)
    ):
        row(currency, i).organic_count = int(count)
        row(currency, i).organic_amount = int(total or 0)
    return {
        currency: [rows.get(i) or MonthRow(month, currency) for i, (month, _, _) in enumerate(months)]
        for currency, rows in sorted(found.items())
    }


def at_risk(client_id: str, f: ReportFilter) -> list[AtRisk]:
    """Recovered vs lost vs still at risk, for the recoveries opened in the range."""
    state = case((RECOVERED, "recovered"), (LOST, "lost"), (AT_RISK, "at_risk"), else_="other")
    found: dict[str, AtRisk] = {}
    for currency, which, count, total in db.session.execute(
        select(Recovery.currency, state, func.count(Recovery.id), func.sum(Recovery.amount))
        .where(*own(client_id, f), *_in(Recovery.created_at, f))
        .group_by(Recovery.currency, state)
    ):
        if which == "other":
            continue
        entry = found.setdefault(currency, AtRisk(currency))
        setattr(entry, f"{which}_count", int(count))
        setattr(entry, f"{which}_amount", int(total or 0))
    return [found[c] for c in sorted(found)]
