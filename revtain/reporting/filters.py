"""The CFO report's filters: a date range (whole days in the merchant's timezone) and a currency.

Bad input is never guessed at: :func:`parse` raises :class:`FilterError` with one sentence per
problem, which the page shows (400) and the CSV export returns as plain text (400).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from ..currencies import ISO_4217

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CURRENCY = re.compile(r"^[A-Za-z]{3}$")
MAX_MONTHS = 60  # the longest range the report covers: five years of monthly trend
DEFAULT_MONTHS = 12  # with no range given: this month and the 11 before it


class FilterError(ValueError):
    """The filters could not be read; ``messages`` says why, one sentence each."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__(" ".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class ReportFilter:
    first_day: date
    last_day: date  # inclusive
    zone: tzinfo
    currency: str | None = None  # None: every currency (amounts are then shown per currency)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), self.zone)

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after the last day."""
        return datetime.combine(self.last_day + timedelta(days=1), time(), self.zone)

    def months(self) -> list[tuple[str, datetime, datetime]]:
        """Each calendar month the range touches, as ``("2026-03", start, end)`` clipped to the range."""
        out = []
        year, month = self.first_day.year, self.first_day.month
        while (year, month) <= (self.last_day.year, self.last_day.month):
            nxt = (year + (month == 12), month % 12 + 1)
            start = max(self.start, datetime(year, month, 1, tzinfo=self.zone))
            end = min(self.end, datetime(nxt[0], nxt[1], 1, tzinfo=self.zone))
            out.append((f"{year:04d}-{month:02d}", start, end))
            year, month = nxt
        return out

    def query_args(self) -> dict[str, str]:
        """The filters as request arguments (for links: the CSV export of the same figures)."""
        args = {"from": self.first_day.isoformat(), "to": self.last_day.isoformat()}
        if self.currency:
            args["currency"] = self.currency
        return args


def _month_range(value: str) -> tuple[date, date]:
    year, month = int(value[:4]), int(value[5:7])
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


def _day(value: str, label: str, problems: list[str]) -> date | None:
    if not DAY.match(value):
        problems.append(f"{label} must be a date as YYYY-MM-DD.")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(f"{label} is not a real date.")
        return None


def default_range(today: date) -> tuple[date, date]:
    year, month = today.year, today.month - (DEFAULT_MONTHS - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1), today


def parse(args: Mapping[str, str], zone: tzinfo, today: date) -> ReportFilter:
    """``month=YYYY-MM`` (a shorthand for that month), or ``from`` and ``to`` (YYYY-MM-DD, either
    optional), and ``currency`` (ISO 4217, empty for all). Raises :class:`FilterError`."""
    problems: list[str] = []
    month = (args.get("month") or "").strip()
    raw_from = (args.get("from") or "").strip()
    raw_to = (args.get("to") or "").strip()
    first, last = default_range(today)
    if month:
        if raw_from or raw_to:
            problems.append("Choose either a month or a date range, not both.")
        elif MONTH.match(month):
            first, last = _month_range(month)
        else:
            problems.append("Month must be a month as YYYY-MM.")
    if raw_from:
        first = _day(raw_from, "From", problems) or first
    if raw_to:
        last = _day(raw_to, "To", problems) or last
    if not problems and first > last:
        problems.append("From must be on or before To.")
    if not problems and (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
        problems.append(f"Choose a range of at most {MAX_MONTHS} months.")
    currency = (args.get("currency") or "").strip().upper() or None
    if currency is not None and (not CURRENCY.match(currency) or currency not in ISO_4217):
        problems.append("Currency must be a three-letter ISO 4217 code such as USD, or empty for all.")
        currency = None
    if problems:
        raise FilterError(problems)
    return ReportFilter(first, last, zone, currency)
