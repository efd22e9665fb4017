"""The sweeper: finds due work in the database and enqueues it.

The database row is the truth, never what RQ says about a job. A due row is enqueued when:

- nobody has enqueued it since it last became due (``enqueued_at`` is empty): a new due time, or
  a claim whose lease ran out because its job died mid-way. Whatever RQ still says about that job
  ("started" for ten minutes after a SIGKILL), it is enqueued at once;
- it was enqueued ``REENQUEUE_AFTER_SECONDS`` ago and nothing has claimed it since, unless its job
  id is still in its queue's list (a backlog: a worker will pop it). A job popped by a worker that
  died before starting it is in no list, even though RQ marks it "queued" for ever.

Due rows are stamped ``enqueued_at`` when looked at, so a row is checked at most once per
``REENQUEUE_AFTER_SECONDS``. A second copy of a job is harmless: the claim lets one run act, and
the attempt's idempotency key makes a gateway charge at most once. On PostgreSQL,
``FOR UPDATE SKIP LOCKED`` lets several schedulers run side by side.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, Select, select, update

from .clock import now as clock_now
from .dunning.expiry import queue_due as queue_due_expiry_reminders
from .extensions import db
from .models import AlertNotification, ConnectorEvent, Message, Recovery, WebhookDelivery
from .models.alert import PENDING as ALERT_PENDING
from .models.connector import RECEIVED as EVENT_RECEIVED
from .models.dunning import PENDING as MESSAGE_PENDING
from .models.webhook import PENDING
from .observability import heartbeat
from .observability.metrics import count_enqueued
from .queues import (
    enqueue_alerts,
    enqueue_connector_events,
    enqueue_deliveries,
    enqueue_messages,
    enqueue_recovery_retries,
)
from .recovery.retry import SCHEDULED_STATES

log = logging.getLogger(__name__)


def sweep_queries(
    model, due: ColumnElement, wanted: ColumnElement[bool], now: datetime
) -> tuple[Select, Select]:
    """Due rows never enqueued, by due time; due rows enqueued long ago and not claimed since."""
    stale = now - timedelta(seconds=current_app.config["REENQUEUE_AFTER_SECONDS"])
    never_enqueued = select(model.id).where(model.enqueued_at.is_(None), due <= now, wanted).order_by(due)
    not_claimed = (
        select(model.id).where(model.enqueued_at <= stale, due <= now, wanted).order_by(model.enqueued_at)
    )
    return never_enqueued, not_claimed


def _due_rows(query: Select, limit: int) -> list:
    if limit <= 0:
        return []
    query = query.limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(db.session.execute(query).all())


def _enqueue_due(
    model,
    due: ColumnElement,
    wanted: ColumnElement[bool],
    enqueue: Callable[..., int],
    now: datetime,
) -> tuple[int, int]:
    """Two sweeps, each a range scan of its own partial index (``models.base.due_indexes``), so a
    tick costs the rows it finds, not the size of the table or the backlog. Returns (rows found,
    jobs enqueued)."""
    batch = current_app.config["SCHEDULER_BATCH_SIZE"]
    never_enqueued, not_claimed = sweep_queries(model, due, wanted, now)
    unsent = [row_id for (row_id,) in _due_rows(never_enqueued, batch)]
    unclaimed = [row_id for (row_id,) in _due_rows(not_claimed, batch - len(unsent))]
    ids = unsent + unclaimed
    if ids:
        db.session.execute(update(model).where(model.id.in_(ids)).values(enqueued_at=now))
    db.session.commit()
    return len(ids), enqueue(unsent) + enqueue(unclaimed, unless_in_queue=True)


def tick() -> dict[str, int]:
    """Enqueue everything due now; returns how many rows of each kind were enqueued."""
    heartbeat.beat()  # /readyz: the scheduler is ticking
    now = clock_now()
    batch = current_app.config["SCHEDULER_BATCH_SIZE"]
    counts = {"recoveries": 0, "deliveries": 0, "messages": 0, "connector_events": 0, "alerts": 0,
              "card_expiry_reminders": queue_due_expiry_reminders(now)}
    sweeps = {
        "recoveries": (Recovery, Recovery.next_attempt_at, Recovery.status.in_(SCHEDULED_STATES),
                       enqueue_recovery_retries),
        "deliveries": (WebhookDelivery, WebhookDelivery.next_try_at, WebhookDelivery.status == PENDING,
                       enqueue_deliveries),
        "messages": (Message, Message.send_at, Message.status == MESSAGE_PENDING, enqueue_messages),
        "connector_events": (ConnectorEvent, ConnectorEvent.process_at,
                             ConnectorEvent.status == EVENT_RECEIVED, enqueue_connector_events),
        "alerts": (AlertNotification, AlertNotification.send_at, AlertNotification.status == ALERT_PENDING,
                   enqueue_alerts),
    }
    while True:
        full = False
        for kind, (model, due, wanted, enqueue) in sweeps.items():
            found, enqueued = _enqueue_due(model, due, wanted, enqueue, now)
            counts[kind] += enqueued
            full = full or found >= batch
        if not full:
            return counts


def run_forever(interval: float) -> None:
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started, every %.1fs", interval)
    while not stopping:
        started = time.monotonic()
        try:
            counts = tick()
            count_enqueued(counts)
            if any(counts.values()):
                log.info("enqueued %s", counts)
        except Exception:  # keep sweeping: a database blip must not stop all future work
            db.session.rollback()
            log.exception("scheduler tick failed")
        finally:
            db.session.remove()
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
