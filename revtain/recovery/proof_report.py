"""The CFO report's "Proof of Lift" figures: Proof Mode's treatment and control groups compared.

Every invoice that failed while Proof Mode was on is in one group. It is counted once its
observation window is over (``PROOF_MODE_OBSERVATION_DAYS`` after the failure, 30 by default), and
counts as recovered if it was paid inside the window: by Revtain, or by other means that Revtain was
told about (pulse, a billing platform's payment, a pre-retry check's ``paid_elsewhere``). The
figures are cumulative from the first assignment up to ``as_of``; simulated recoveries are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import and_, case, func, or_, select

from ..engine import proof_mode as rules
from ..extensions import db
from ..models import Client, ProofAssignment, Recovery
from ..models.recovery import SUCCEEDED


@dataclass(frozen=True)
class ProofOfLift:
    as_of: datetime
    enabled: bool
    share: int
    observation_days: int
    min_invoices: int
    comparison: rules.Comparison
    observing: dict[str, int]  # per group: invoices whose window is not over yet

    @property
    def verdict_text(self) -> str:
        c = self.comparison
        if c.in_progress:
            return "Measurement in progress: " + "; ".join(c.waiting_for) + "."
        p = _p(c.p_value)
        if c.verdict == "uplift":
            return f"Revtain recovers significantly more than the control group (two-proportion z-test, {p})."
        if c.verdict == "drop":
            return f"The control group recovers significantly more than Revtain (two-proportion z-test, {p})."
        return f"No significant difference between the groups yet (two-proportion z-test, {p})."


def _p(p_value: float | None) -> str:
    if p_value is None:
        return "p = -"
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"


def _recovered_in_window():
    """Paid inside the window: Revtain's recovery (or a payment elsewhere it closed the recovery
    for) in the treatment group; the organic payment recorded for a holdout in the control group."""
    return or_(
        and_(
            ProofAssignment.proof_group == rules.TREATMENT,
            Recovery.status == SUCCEEDED,
            Recovery.recovered_at <= ProofAssignment.window_ends_at,
        ),
        and_(
            ProofAssignment.proof_group == rules.CONTROL,
            ProofAssignment.paid_at <= ProofAssignment.window_ends_at,
        ),
    )


def proof_of_lift(client: Client, as_of: datetime) -> ProofOfLift | None:
    """The figures as of ``as_of``; None if the client never had Proof Mode on."""
    base = (
        select(ProofAssignment.proof_group)
        .join(Recovery, Recovery.id == ProofAssignment.recovery_id)
        .where(
            ProofAssignment.client_id == client.id,
            Recovery.is_simulated.is_(False),
            ProofAssignment.assigned_at < as_of,
        )
    )
    if db.session.execute(base.limit(1)).first() is None and not client.proof_mode_enabled:
        return None
    matured = ProofAssignment.window_ends_at <= as_of
    rows = db.session.execute(
        base.add_columns(
            func.sum(case((matured, 1), else_=0)),
            func.sum(case((and_(matured, _recovered_in_window()), 1), else_=0)),
            func.sum(case((matured, 0), else_=1)),
        ).group_by(ProofAssignment.proof_group)
    ).all()
    counted = {group: rules.Outcomes(int(n or 0), int(won or 0)) for group, n, won, _ in rows}
    observing = {group: int(waiting or 0) for group, _, _, waiting in rows}
    empty = rules.Outcomes(0, 0)
    min_invoices = int(current_app.config["PROOF_MODE_MIN_INVOICES"])
    comparison = rules.compare(
        counted.get(rules.TREATMENT, empty), counted.get(rules.CONTROL, empty), min_invoices=min_invoices
    )
    return ProofOfLift(
        as_of=as_of,
        enabled=client.proof_mode_enabled,
        share=client.proof_mode_share,
        observation_days=int(current_app.config["PROOF_MODE_OBSERVATION_DAYS"]),
        min_invoices=min_invoices,
        comparison=comparison,
        observing={g: observing.get(g, 0) for g in (rules.TREATMENT, rules.CONTROL)},
    )
