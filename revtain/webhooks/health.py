"""Whether a client's webhook endpoint is failing, for the dashboard: a delivery that failed
``BACKING_OFF_AFTER_TRIES`` tries in a row is being retried on the widening schedule
(``WEBHOOK_SCHEDULE``), and the team should see that, with when the next try is. Nothing is
dropped while it backs off: every pending delivery waits for its next try."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..extensions import db
from ..models import WebhookDelivery
from ..models.webhook import PENDING

BACKING_OFF_AFTER_TRIES = 3


@dataclass(frozen=True)
class BackingOff:
    tries: int  # the most failed tries of one pending delivery
    last_error: str | None
    next_try_at: datetime | None
    pending: int  # deliveries waiting for the endpoint


def backing_off(client_id: str) -> BackingOff | None:
    worst = db.session.execute(
        select(WebhookDelivery)
        .where(WebhookDelivery.client_id == client_id, WebhookDelivery.status == PENDING,
               WebhookDelivery.tries >= BACKING_OFF_AFTER_TRIES)
        .order_by(WebhookDelivery.tries.desc())
        .limit(1)
    ).scalar_one_or_none()
    if worst is None:
        return None
    pending = db.session.execute(
        select(func.count(WebhookDelivery.id))
        .where(WebhookDelivery.client_id == client_id, WebhookDelivery.status == PENDING)
    ).scalar_one()
    return BackingOff(worst.tries, worst.last_error, worst.next_try_at, pending)
