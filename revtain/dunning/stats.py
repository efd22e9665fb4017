"""Per-step results of a dunning sequence: messages sent, opened (only where the merchant allows the
pixel), clicked (the tracked card-update link) and the amount recovered after the step.

A recovered payment is credited to the last step sent to its customer before it was recovered
(the message that was in front of the customer when they acted), once, in its own currency.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from ..extensions import db
from ..models import Recovery
from ..models.dunning import SENT, DunningSequence, Message


@dataclass
class StepStats:
    position: int
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    recovered: dict[str, int] = field(default_factory=dict)  # currency -> minor units
    recovered_count: int = 0

    def rate(self, count: int) -> str:
        return f"{100 * count / self.sent:.0f}%" if self.sent else "-"


def step_stats(sequence: DunningSequence) -> list[StepStats]:
    by_step = {step.id: StepStats(position) for position, step in enumerate(sequence.steps, 1)}
    if not by_step:
        return []
    rows = db.session.execute(
        select(Message.step_id, Message.recovery_id, Message.sent_at, Message.opened_at, Message.clicked_at,
               Recovery.recovered_at, Recovery.amount, Recovery.currency)
        .join(Recovery, Recovery.id == Message.recovery_id)
        .where(Message.step_id.in_(by_step), Message.status == SENT)
    ).all()
    last_before_recovery: dict[str, tuple] = {}
    for row in rows:
        stats = by_step[row.step_id]
        stats.sent += 1
        stats.opened += row.opened_at is not None
        stats.clicked += row.clicked_at is not None
        if row.recovered_at is not None and row.sent_at is not None and row.sent_at <= row.recovered_at:
            best = last_before_recovery.get(row.recovery_id)
            if best is None or row.sent_at > best.sent_at:
                last_before_recovery[row.recovery_id] = row
    totals: dict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in last_before_recovery.values():
        totals[row.step_id][row.currency.upper()] += row.amount
        by_step[row.step_id].recovered_count += 1
    for step_id, amounts in totals.items():
        by_step[step_id].recovered = dict(amounts)
    return list(by_step.values())
