"""Pulse: an organic success, the baseline against which Lift is measured.

A success whose ``transactionId`` names a Proof Mode holdout (its Revtain transaction id, or the
``idempotencyKey`` it was reported with) also records that the held-out invoice was paid without
Revtain, for the Proof of Lift report.
"""

from __future__ import annotations

from ..clock import now as clock_now
from ..extensions import db
from ..models import Client, OrganicSuccess
from ..models.base import new_ulid
from .proof_mode import mark_paid_by_reference


def log_organic_success(
    client: Client, amount: int, currency: str, transaction_id: str | None
) -> OrganicSuccess:
    now = clock_now()
    success = OrganicSuccess(
        client_id=client.id,
        transaction_id=transaction_id or new_ulid(),
        amount=amount,
        currency=currency,
        created_at=now,
    )
    db.session.add(success)
    if transaction_id:
        mark_paid_by_reference(client, transaction_id, now)
    db.session.commit()
    return success
