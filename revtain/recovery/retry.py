"""A scheduled retry of a queued recovery: the job the scheduler enqueues when it is due."""

from __future__ import annotations

from ..clock import now as clock_now
from ..due_rows import claim
from ..engine.declines import classify
from ..engine.retry_ladder import next_retry_at
from ..extensions import db
from ..models import Client, Recovery
from ..models.recovery import QUEUED
from ..queues import enqueue_deliveries
from . import cascade, finish
from .start import retry_ladder

TRIGGER = "scheduled_retry"


def run_scheduled_attempt(recovery_id: str) -> str:
    if not claim(Recovery, recovery_id, "next_attempt_at", Recovery.status == QUEUED):
        return "skipped"
    recovery = db.session.get(Recovery, recovery_id)
    client = db.session.get(Client, recovery.client_id)
    now = clock_now()

    recovery.scheduled_retries += 1
    outcome = cascade.run(client, recovery, "smart_retry", now)
    delivery = None
    if outcome.approved:
        delivery = finish.succeed(client, recovery, now, trigger=TRIGGER)
    else:
        retryable = outcome.last.outcome == "declined" and classify(outcome.error).handling != "block"
        due = (
            next_retry_at(recovery.created_at, recovery.scheduled_retries, retry_ladder(client), now)
            if retryable
            else None
        )
        if due is None:
            delivery = finish.fail(client, recovery, now, outcome.error, trigger=TRIGGER)
        else:
            recovery.next_attempt_at = due
            recovery.updated_at = now
    db.session.commit()
    enqueue_deliveries([delivery])
    return recovery.status
