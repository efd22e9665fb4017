"""A webhook delivery's state in one plain sentence, for the dashboard and ``revtain webhooks list``:
what happened, what happens next, and what the merchant can do."""

from __future__ import annotations

from datetime import datetime

from flask import current_app

from ..clock import now as clock_now
from ..models import WebhookDelivery
from ..models.webhook import DELIVERED, EXHAUSTED

# A first try this late means no worker took the job (revtain/scheduler.py re-enqueues after 60 s).
STUCK_AFTER_SECONDS = 120


def _in_words(seconds: float) -> str:
    if seconds < 1:
        return "now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = round(seconds / size)
            return f"in about {n} {unit}{'s' if n != 1 else ''}"
    n = round(seconds)
    return f"in {n} second{'s' if n != 1 else ''}"


def _reason(delivery: WebhookDelivery) -> str:
    if delivery.last_error:
        return delivery.last_error.rstrip(".")
    if delivery.last_status_code:
        return f"HTTP {delivery.last_status_code}"
    return "no answer"


def explain(delivery: WebhookDelivery, now: datetime | None = None) -> str:
    now = now or clock_now()
    tries = delivery.tries
    if delivery.status == DELIVERED:
        return "Delivered." if tries <= 1 else f"Delivered on try {tries}."
    if delivery.status == EXHAUSTED:
        return (f"Gave up after {tries} tries; the last failed: {_reason(delivery)}. "
                "Fix the receiver, then replay the event.")
    due = delivery.next_try_at
    if tries == 0:
        late = (now - due).total_seconds() if due is not None else 0
        if late > STUCK_AFTER_SECONDS:
            return (f"Waiting for its first try for {round(late / 60)} minutes: "
                    "is a worker running (revtain worker)?")
        return "Waiting for its first try."
    total = len(current_app.config["WEBHOOK_SCHEDULE"])
    when = _in_words((due - now).total_seconds()) if due is not None else "soon"
    return f"Try {tries} of {total} failed: {_reason(delivery)}. Trying again {when}."
