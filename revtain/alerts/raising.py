"""Raising an alert: in the same transaction as what it is about, once per incident.

The alert row and its work are written with the state change they announce (a recovery failing, a
webhook try): an ``alert_notifications`` row per email address and phone number, due now, which the
scheduler enqueues and a job sends; and, for the WEBHOOK channel, a ``merchant.alert`` event in the
outbox. ``incident_key`` is unique, so the same incident (one recovery's failure; a webhook URL
that stopped answering, until it answers again) is never alerted twice, even by two workers at once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ..clock import iso
from ..extensions import db
from ..models import Alert, AlertNotification, Client, Recovery, WebhookDelivery
from ..models.alert import (
    EMAIL,
    NEEDS_ATTENTION,
    PAYMENT_FAILED,
    PENDING,
    SMS,
    TEST,
    WEBHOOK,
    WEBHOOK_DEAD,
)
from ..webhooks.outbox import emit
from . import messages
from .settings import Settings, load

EVENT = "merchant.alert"
DEFAULT_DEAD_AFTER_TRIES = 6  # the tries at 0 s, 2 s, 8 s, 1 min, 5 min and 30 min all failed


def _recovery_details(recovery: Recovery) -> dict[str, Any]:
    return {
        "amount": recovery.amount,
        "currency": recovery.currency,
        "declineCode": recovery.error or recovery.last_decline_code,
        "recommendedAction": recovery.recommended_action,
        "customerEmail": recovery.customer_email,
        "isSimulated": recovery.is_simulated,
    }


def _over_threshold(settings: Settings, amount: int, currency: str) -> bool:
    """A currency without a threshold alerts on every failed payment."""
    return amount >= settings.thresholds.get(currency, 0)


def payment_failed(client: Client, recovery: Recovery, now: datetime) -> Alert | None:
    """All of a recovery's strategies are exhausted: the team may want to reach out."""
    settings = load(client.id)
    if not settings.channels or not _over_threshold(settings, recovery.amount, recovery.currency):
        return None
    return _raise(
        client,
        settings,
        PAYMENT_FAILED,
        f"{PAYMENT_FAILED}:{recovery.id}",
        _recovery_details(recovery),
        now,
        recovery_id=recovery.id,
    )


def needs_attention(client: Client, recovery: Recovery, now: datetime) -> Alert | None:
    """A blocked recovery: fraud to review, or a customer who must authenticate or replace the card.
    Whatever the amount."""
    settings = load(client.id)
    if not settings.channels:
        return None
    return _raise(
        client,
        settings,
        NEEDS_ATTENTION,
        f"{NEEDS_ATTENTION}:{recovery.id}",
        _recovery_details(recovery),
        now,
        recovery_id=recovery.id,
    )


def _webhook_incident(client_id: str, url: str) -> str:
    return f"{WEBHOOK_DEAD}:{client_id}:{hashlib.sha256(url.encode()).hexdigest()[:32]}"


def webhook_try(delivery: WebhookDelivery, ok: bool, now: datetime) -> Alert | None:
    """After each try of a webhook delivery. A URL that failed ``ALERT_WEBHOOK_DEAD_AFTER_TRIES``
    tries of one delivery in a row is dead: alerted once (by email and text message: a dead
    endpoint would not receive the alert); its first success closes the incident."""
    key = _webhook_incident(delivery.client_id, delivery.url)
    if ok:
        db.session.execute(
            update(Alert).where(Alert.incident_key == key).values(incident_key=None, resolved_at=now)
        )
        return None
    dead_after = int(current_app.config.get("ALERT_WEBHOOK_DEAD_AFTER_TRIES") or DEFAULT_DEAD_AFTER_TRIES)
    if delivery.tries < dead_after:
        return None
    settings = load(delivery.client_id)
    if not set(settings.channels) - {WEBHOOK}:
        return None
    client = db.session.get(Client, delivery.client_id)
    details = {
        "tries": delivery.tries,
        "lastError": delivery.last_error,
        "firstFailureAt": iso(delivery.first_try_at),
    }
    return _raise(
        client, settings, WEBHOOK_DEAD, key, details, now, webhook_url=delivery.url, channels=(EMAIL, SMS)
    )


def test_alert(client: Client, now: datetime) -> Alert | None:
    """An alert on request (CLI, dashboard), over every chosen channel; commits."""
    settings = load(client.id)
    if not settings.channels:
        return None
    alert = _raise(client, settings, TEST, None, {}, now)
    db.session.commit()
    return alert


def _raise(
    client: Client,
    settings: Settings,
    kind: str,
    incident_key: str | None,
    details: dict[str, Any],
    now: datetime,
    *,
    recovery_id: str | None = None,
    webhook_url: str | None = None,
    channels: tuple[str, ...] = (WEBHOOK, EMAIL, SMS),
) -> Alert | None:
    alert = Alert(
        client_id=client.id,
        kind=kind,
        incident_key=incident_key,
        recovery_id=recovery_id,
        webhook_url=webhook_url,
        summary=messages.summary(kind, details)[:500],
        details=details,
        created_at=now,
    )
    try:
        with db.session.begin_nested():  # a savepoint: a second alert for the incident is dropped alone
            db.session.add(alert)
    except IntegrityError:
        return None
    chosen = [c for c in settings.channels if c in channels]
    for channel, addresses in ((EMAIL, settings.emails), (SMS, settings.phones)):
        if channel in chosen:
            for address in addresses:
                db.session.add(
                    AlertNotification(
                        alert_id=alert.id,
                        client_id=client.id,
                        channel=channel,
                        to_address=address,
                        status=PENDING,
                        send_at=now,
                        tries=0,
                        created_at=now,
                    )
                )
    if WEBHOOK in chosen:
        delivery_id = emit(client, _event(alert), recovery_id=recovery_id)
        if delivery_id:
            # Written mid-transaction by whoever raised the alert: the scheduler enqueues it on its
            # next tick, as it does the emails and text messages.
            db.session.get(WebhookDelivery, delivery_id).enqueued_at = None
    return alert


def _event(alert: Alert) -> dict[str, Any]:
    details = alert.details or {}
    body: dict[str, Any] = {"event": EVENT, "alertId": alert.id, "type": alert.kind, "message": alert.summary}
    if alert.recovery_id:
        body.update(
            {
                "revtainTransactionId": alert.recovery_id,
                "amount": details.get("amount"),
                "currency": details.get("currency"),
                "declineCode": details.get("declineCode"),
                "recommendedAction": details.get("recommendedAction"),
            }
        )
    body["createdAt"] = iso(alert.created_at)
    return body
