"""Proof Mode, the acting parts (contract 9.4): the merchant's setting, the holdout decision made
when a recovery starts, and the organic payment of a held-out invoice.

A held-out recovery (status ``holdout``) is never charged: no immediate attempt, no scheduled
retry, no cascade, no dunning. ``recovery.holdout`` goes out at once through the outbox, signed and
delivered like every event. The customer's group comes from ``engine.proof_mode``; a customer seen
before keeps the group recorded then, even if the share has changed since.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select

from ..engine import proof_mode as rules
from ..extensions import db
from ..models import Client, ProofAssignment, Recovery
from ..models.recovery import HOLDOUT
from ..webhooks import payloads
from ..webhooks.outbox import emit

HOLDOUT_STRATEGY = "holdout"
PAID_VIA_PULSE = "pulse"


class ProofModeError(ValueError):
    """A setting a person must correct; the message says what and how."""


def configure(client: Client, *, enabled: bool, share: int | None = None) -> None:
    """Turn Proof Mode on or off, and set the control share (percent, 1 to 50). The caller
    commits. Customers already assigned keep their group."""
    if share is not None:
        if not isinstance(share, int) or isinstance(share, bool) or not rules.valid_share(share):
            raise ProofModeError(
                f"the Proof Mode share must be a whole percentage from 1 to {rules.MAX_SHARE} (got {share!r})"
            )
        client.proof_mode_share = share
    client.proof_mode_enabled = bool(enabled)


def observation_days() -> int:
    return int(current_app.config["PROOF_MODE_OBSERVATION_DAYS"])


def holds_out(client: Client, recovery: Recovery, now: datetime, deliveries: list[str | None]) -> bool:
    """The holdout decision, made before anything is charged or queued. While Proof Mode is on,
    records the customer's group; for the control group the recovery becomes a holdout, its
    ``recovery.holdout`` event joins ``deliveries``, and True is returned. The caller commits."""
    if not client.proof_mode_enabled:
        return False
    key = rules.customer_key(recovery.customer_email, recovery.source_customer, recovery.payment_method_token)
    fingerprint = rules.fingerprint(client.id, key)
    group = _earlier_group(client.id, fingerprint) or rules.assign(fingerprint, client.proof_mode_share)
    db.session.add(
        ProofAssignment(
            recovery_id=recovery.id,
            client_id=client.id,
            customer_key=fingerprint,
            proof_group=group,
            share=client.proof_mode_share,
            assigned_at=recovery.created_at,
            window_ends_at=recovery.created_at + timedelta(days=observation_days()),
        )
    )
    if group != rules.CONTROL:
        return False
    recovery.status = HOLDOUT
    recovery.strategy_used = HOLDOUT_STRATEGY
    recovery.recommended_action = "monitor"
    recovery.next_attempt_at = None  # the safety net start() set: there is nothing to resume
    recovery.enqueued_at = None
    recovery.finished_at = now
    recovery.updated_at = now
    deliveries.append(emit(client, payloads.recovery_holdout(client, recovery), recovery_id=recovery.id))
    return True


def _earlier_group(client_id: str, fingerprint: str) -> str | None:
    return db.session.execute(
        select(ProofAssignment.proof_group)
        .where(ProofAssignment.client_id == client_id, ProofAssignment.customer_key == fingerprint)
        .order_by(ProofAssignment.assigned_at)
        .limit(1)
    ).scalar_one_or_none()


def mark_paid(recovery: Recovery, via: str, now: datetime) -> bool:
    """A held-out invoice was paid without Revtain (pulse, or the billing platform). Only the first
    report counts. The caller commits. False if ``recovery`` is not a holdout."""
    if recovery.status != HOLDOUT:
        return False
    assignment = db.session.get(ProofAssignment, recovery.id)
    if assignment is None:
        return False
    if assignment.paid_at is None:
        assignment.paid_at, assignment.paid_via = now, via[:32]
        recovery.updated_at = now
    return True


def mark_paid_by_reference(client: Client, reference: str, now: datetime) -> Recovery | None:
    """Pulse: the organic success whose ``transactionId`` is a holdout's Revtain transaction id or
    the ``idempotencyKey`` it was reported with (the merchant's invoice id)."""
    recovery = db.session.execute(
        select(Recovery)
        .where(
            Recovery.client_id == client.id,
            Recovery.status == HOLDOUT,
            or_(Recovery.id == reference, Recovery.idempotency_key == reference),
        )
        .order_by(Recovery.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    if recovery is not None and mark_paid(recovery, PAID_VIA_PULSE, now):
        return recovery
    return None


def assignment_of(recovery: Recovery) -> ProofAssignment | None:
    return db.session.get(ProofAssignment, recovery.id)
