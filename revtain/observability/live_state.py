"""What ``/metrics`` reads at scrape time: queue depths (Redis) and due-row lateness (database)."""

from __future__ import annotations

import redis
from sqlalchemy import func, select

from ..clock import now as clock_now
from ..extensions import db
from ..models import AlertNotification, ConnectorEvent, Message, Recovery, WebhookDelivery
from ..models.alert import PENDING as ALERT_PENDING
from ..models.connector import RECEIVED as EVENT_RECEIVED
from ..models.dunning import PENDING as MESSAGE_PENDING
from ..models.webhook import PENDING
from ..queues import ALL, queue
from ..recovery.retry import SCHEDULED_STATES

# The rows the scheduler sweeps (revtain/scheduler.py): kind, model, due column, still wanted.
DUE_ROWS = (
    ("recoveries", Recovery, Recovery.next_attempt_at, Recovery.status.in_(SCHEDULED_STATES)),
    ("deliveries", WebhookDelivery, WebhookDelivery.next_try_at, WebhookDelivery.status == PENDING),
    ("messages", Message, Message.send_at, Message.status == MESSAGE_PENDING),
    ("connector_events", ConnectorEvent, ConnectorEvent.process_at, ConnectorEvent.status == EVENT_RECEIVED),
    ("alerts", AlertNotification, AlertNotification.send_at, AlertNotification.status == ALERT_PENDING),
)


def read() -> tuple[dict[str, int], dict[str, float], dict[str, int]]:
    """Queue depths, seconds the oldest due row of each kind waited, and how many are due."""
    try:
        depths = {name: queue(name).count for name in ALL}
    except redis.RedisError:  # /readyz says Redis is down; the database figures are still worth having
        depths = {}
    now = clock_now()
    lateness: dict[str, float] = {}
    due_counts: dict[str, int] = {}
    try:
        for kind, model, due, wanted in DUE_ROWS:
            oldest, count = db.session.execute(
                select(func.min(due), func.count(model.id)).where(wanted, due <= now)
            ).one()
            lateness[kind] = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
            due_counts[kind] = count
    finally:
        db.session.remove()
    return depths, lateness, due_counts
