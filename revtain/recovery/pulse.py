"""Pulse: an organic success, the baseline against which Lift is measured."""

from __future__ import annotations

from ..clock import now as clock_now
from ..extensions import db
from ..models import Client, OrganicSuccess
from ..models.base import new_ulid


def log_organic_success(
    client: Client, amount: int, currency: str, transaction_id: str | None,
    customer_email: str | None = None,
) -> OrganicSuccess:
    success = OrganicSuccess(
        client_id=client.id,
        transaction_id=transaction_id or new_ulid(),
        amount=amount,
        currency=currency,
        customer_email=customer_email,
        created_at=clock_now(),
    )
    db.session.add(success)
    db.session.commit()
    return success
