"""Recovery rate by decline family, by strategy and by dunning step, and the days to recover.

The cohort is the recoveries *opened* in the range (real, in the filter's currency): each is
counted once, where it stands now. A rate is recovered over finished (``outcomes.rate``); the
ones still open are shown beside it, so a young cohort does not look worse than it is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import median

from sqlalchemy import case, func, select

from ..engine.declines import classify
from ..extensions import db
from ..models import DunningStep, Message, Recovery
from ..models.dunning import SENT
from .filters import ReportFilter
from .outcomes import AT_RISK, LOST, RECOVERED, own, rate

# Days from the failure to the recovery: (label, lower bound in days, upper bound exclusive).
DAY_BUCKETS = (
    ("Same day", 0, 1),
    ("1-2 days", 1, 3),
    ("3-6 days", 3, 7),
    ("7-13 days", 7, 14),
    ("14-29 days", 14, 30),
    ("30 days or more", 30, None),
)
NO_STRATEGY = "none"


@dataclass
class RateRow:
    key: str
    label: str
    recovered: int = 0
    lost: int = 0
    open: int = 0

    @property
    def finished(self) -> int:
        return self.recovered + self.lost

    @property
    def rate(self) -> float | None:
        return rate(self.recovered, self.finished)


@dataclass
class StepRow:
    """Dunning step ``position``: the recoveries it was sent for, and those recovered after it
    (before any later step was sent)."""

    position: int
    reached: int = 0
    recovered_after: int = 0

    @property
    def label(self) -> str:
        return f"Step {self.position}"

    @property
    def rate(self) -> float | None:
        return rate(self.recovered_after, self.reached)


@dataclass(frozen=True)
class DaysToRecover:
    count: int
    median_days: float | None
    buckets: list[tuple[str, int]]


def _cohort(client_id: str, f: ReportFilter) -> tuple:
    return (*own(client_id, f), Recovery.created_at >= f.start, Recovery.created_at < f.end)


STATE = case((RECOVERED, "recovered"), (LOST, "lost"), (AT_RISK, "open"), else_=None)


def _grouped(client_id: str, f: ReportFilter, column) -> list[tuple[str | None, str, int]]:
    return [
        (key, state, int(n))
        for key, state, n in db.session.execute(
            select(column, STATE, func.count(Recovery.id))
            .where(*_cohort(client_id, f))
            .group_by(column, STATE)
        )
        if state is not None
    ]


def _sorted(rows: dict[str, RateRow]) -> list[RateRow]:
    return sorted(rows.values(), key=lambda r: (-(r.finished + r.open), r.label))


def by_decline_family(client_id: str, f: ReportFilter) -> list[RateRow]:
    """Grouped by the family of the original decline code (the catalogue's ``family``)."""
    rows: dict[str, RateRow] = {}
    for code, state, n in _grouped(client_id, f, Recovery.original_decline_code):
        family = classify(code).family
        row = rows.setdefault(family, RateRow(family, family.replace("_", " ").capitalize()))
        setattr(row, state, getattr(row, state) + n)
    return _sorted(rows)


def by_strategy(client_id: str, f: ReportFilter) -> list[RateRow]:
    """Grouped by the strategy the recovery used last (``none`` before any attempt)."""
    rows: dict[str, RateRow] = {}
    for strategy, state, n in _grouped(client_id, f, Recovery.strategy_used):
        key = strategy or NO_STRATEGY
        row = rows.setdefault(key, RateRow(key, key.replace("_", " ").capitalize()))
        setattr(row, state, getattr(row, state) + n)
    return _sorted(rows)


def by_dunning_step(client_id: str, f: ReportFilter) -> list[StepRow]:
    """Per step position: recoveries whose message for it was sent, and those recovered after it
    with no later message sent before the recovery (the step that brought the customer back)."""
    sent = db.session.execute(
        select(
            Message.recovery_id,
            DunningStep.position,
            Message.sent_at,
            Recovery.recovered_at,
            case((RECOVERED, True), else_=False),
        )
        .join(DunningStep, DunningStep.id == Message.step_id)
        .join(Recovery, Recovery.id == Message.recovery_id)
        .where(*_cohort(client_id, f), Message.status == SENT, Message.sent_at.is_not(None))
    ).all()
    rows: dict[int, StepRow] = {}
    reached: dict[int, set[str]] = defaultdict(set)
    last_before: dict[str, tuple] = {}
    for recovery_id, position, sent_at, recovered_at, recovered in sent:
        reached[position].add(recovery_id)
        before = recovered and recovered_at is not None and sent_at <= recovered_at
        if before and (recovery_id not in last_before or sent_at > last_before[recovery_id][0]):
            last_before[recovery_id] = (sent_at, position)
    for position, ids in reached.items():
        rows[position] = StepRow(position, reached=len(ids))
    for _, position in last_before.values():
        rows[position].recovered_after += 1
    return [rows[p] for p in sorted(rows)]


def days_to_recover(client_id: str, f: ReportFilter) -> DaysToRecover:
    """For the payments recovered in the range: days from the failure to the recovery."""
    spans = [
        max((recovered_at - created_at).total_seconds(), 0) / 86400
        for created_at, recovered_at in db.session.execute(
            select(Recovery.created_at, Recovery.recovered_at).where(
                *own(client_id, f), RECOVERED, Recovery.recovered_at >= f.start, Recovery.recovered_at < f.end
            )
        )
    ]
    buckets = [
        (label, sum(1 for d in spans if d >= low and (high is None or d < high)))
        for label, low, high in DAY_BUCKETS
    ]
    return DaysToRecover(len(spans), round(median(spans), 1) if spans else None, buckets)
