"""Delivering one webhook try: claim the row, POST the stored bytes, log the try, schedule the next.

The claim is a compare-and-set on ``next_try_at``: only a job that finds the row pending and due
moves it forward by a lease and proceeds, so a job run twice sends one try. If the worker dies
mid-try, the row is due again when the lease ends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import requests
from flask import current_app
from sqlalchemy import update

from .. import outbound
from ..alerts import raising as alerts
from ..clock import now as clock_now
from ..crypto import decrypt
from ..due_rows import claim
from ..extensions import db
from ..models import Client, WebhookDelivery, WebhookTry
from ..models.webhook import DELIVERED, EXHAUSTED, PENDING
from . import fairness, signing

MAX_REPLY_BYTES = 64 * 1024  # what is read of a merchant's answer; the rest is never downloaded


@dataclass(frozen=True)
class Reply:
    status_code: int | None
    text: str | None  # the start of the answer's body
    error: str | None  # None for a 2xx answer read in time
    duration_ms: int


def post_to_merchant(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Reply:
    """POST signed bytes to a URL a merchant gave us: webhooks and pre-retry checks both go through
    here, so whatever guards a merchant's URL guards them all. Redirects are not followed; only a
    2xx whose body arrives within ``timeout`` seconds (the whole answer, not each read) counts."""
    started = time.monotonic()
    status_code: int | None = None
    text: str | None = None
    error: str | None = None
    try:
        with outbound.session().post(url, data=body, headers=headers, timeout=timeout,
                                     allow_redirects=False, stream=True) as response:
            status_code = response.status_code
            content = bytearray()
            for chunk in response.iter_content(8192):
                content += chunk
                if time.monotonic() - started > timeout:
                    raise requests.Timeout(f"no complete answer within {timeout:g} s")
                if len(content) >= MAX_REPLY_BYTES:
                    break
            text = bytes(content[:MAX_REPLY_BYTES]).decode(response.encoding or "utf-8", errors="replace")
        if 300 <= status_code < 400:
            error = f"HTTP {status_code}: a redirect, which Revtain does not follow (use the final URL)"
        elif not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except requests.RequestException as exc:
        error = outbound.describe(exc)
    return Reply(status_code, text, error, int((time.monotonic() - started) * 1000))


def _later(delivery_id: str, seconds: float) -> str:
    """Due again in ``seconds``, no try counted (the claim's lease is given back early)."""
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == PENDING)
        .values(next_try_at=clock_now() + timedelta(seconds=seconds), enqueued_at=None)
    )
    db.session.commit()
    return "deferred"


def deliver(delivery_id: str) -> str:
    if not claim(WebhookDelivery, delivery_id, "next_try_at", WebhookDelivery.status == PENDING):
        return "skipped"
    delivery = db.session.get(WebhookDelivery, delivery_id)
    client = db.session.get(Client, delivery.client_id)
    url, event_id, body, client_id = delivery.url, delivery.event_id, delivery.event.body, client.id
    secret = decrypt(client.webhook_secret_encrypted)
    db.session.rollback()  # hold no transaction (or SQLite lock) while the receiver answers
    with fairness.slot(client_id) as slot:
        if not slot.granted:  # the client's endpoint already has its share of threads
            return _later(delivery_id, slot.wait_seconds)
        started_at = clock_now()
        headers = signing.headers(secret, event_id, int(started_at.timestamp()), body)
        reply = post_to_merchant(url, body, headers, current_app.config["WEBHOOK_TIMEOUT"])
    status_code, error, duration_ms = reply.status_code, reply.error, reply.duration_ms
    excerpt = reply.text[:500] if reply.text is not None else None

    delivery = db.session.get(WebhookDelivery, delivery_id)
    number = delivery.tries + 1
    db.session.add(
        WebhookTry(
            delivery_id=delivery.id,
            number=number,
            started_at=started_at,
            duration_ms=duration_ms,
            status_code=status_code,
            error=error,
            response_excerpt=excerpt,
        )
    )
    delivery.tries = number
    delivery.first_try_at = delivery.first_try_at or started_at
    delivery.last_status_code = status_code
    delivery.last_error = error
    if error is None:
        delivery.status = DELIVERED
        delivery.delivered_at = clock_now()
        delivery.next_try_at = None
    else:
        schedule = current_app.config["WEBHOOK_SCHEDULE"]
        if number < len(schedule):
            due = delivery.first_try_at + timedelta(seconds=float(schedule[number]))
            delivery.next_try_at = max(due, clock_now())
        else:
            delivery.status = EXHAUSTED
            delivery.next_try_at = None
    alerts.webhook_try(delivery, ok=error is None, now=clock_now())  # a dead URL alerts the team once
    db.session.commit()
    return delivery.status
