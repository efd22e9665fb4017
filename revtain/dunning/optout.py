"""Customers who unsubscribed from dunning emails: one rule, asked by scheduling and sending."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Recovery, Unsubscribe
from ..models.dunning import CANCELLED, EMAIL, PENDING, Message

UNSUBSCRIBED = "unsubscribed"


def is_unsubscribed(client_id: str, email: str | None) -> bool:
    if not email:
        return False
    return db.session.execute(
        select(Unsubscribe.id).where(Unsubscribe.client_id == client_id, Unsubscribe.email == email.lower())
    ).first() is not None


def unsubscribe(client_id: str, email: str, now: datetime) -> int:
    """Record the opt-out (once) and cancel the customer's pending emails; commits. Returns how many
    pending emails were cancelled."""
    email = email.lower()
    if not is_unsubscribed(client_id, email):
        db.session.add(Unsubscribe(client_id=client_id, email=email, created_at=now))
        try:
            db.session.commit()
        except IntegrityError:  # the same link, posted twice at once
            db.session.rollback()
    recoveries = select(Recovery.id).where(Recovery.client_id == client_id,
                                           func.lower(Recovery.customer_email) == email)
    result = db.session.execute(
        update(Message)
        .where(Message.recovery_id.in_(recoveries), Message.status == PENDING, Message.channel == EMAIL)
        .values(status=CANCELLED, cancelled_at=now, send_at=None, enqueued_at=None, error=UNSUBSCRIBED)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount
