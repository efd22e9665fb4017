"""The outbox: events are written in the same transaction as the state change they announce."""

from __future__ import annotations

from typing import Any

from ..clock import now as clock_now
from ..extensions import db
from ..models import Client, WebhookDelivery, WebhookEvent
from ..models.base import new_ulid
from ..queues import enqueue_deliveries
from .signing import encode_body


def emit(client: Client, payload: dict[str, Any], *, recovery_id: str | None = None) -> str | None:
    """Add the event, and a delivery to the client's webhook URL, to the current session.

    Returns the delivery id for the caller to enqueue after commit (``None`` without a URL).
    The delivery is marked enqueued now, so the scheduler leaves it to that enqueue unless it
    never arrives.
    """
    now = clock_now()
    event_id = new_ulid()
    body = encode_body({**payload, "eventId": event_id})
    db.session.add(
        WebhookEvent(
            id=event_id,
            client_id=client.id,
            type=payload["event"],
            recovery_id=recovery_id,
            body=body,
            created_at=now,
        )
    )
    if not client.webhook_url:
        return None
    return _new_delivery(event_id, client, now).id


def _new_delivery(event_id: str, client: Client, now) -> WebhookDelivery:
    """A delivery due now, marked enqueued: the caller enqueues it after commit."""
    delivery = WebhookDelivery(
        id=new_ulid(),
        event_id=event_id,
        client_id=client.id,
        url=client.webhook_url,
        status="pending",
        tries=0,
        next_try_at=now,
        enqueued_at=now,
        created_at=now,
    )
    db.session.add(delivery)
    return delivery


class EventNotFound(LookupError):
    pass


def replay(event_id: str) -> WebhookDelivery:
    """Deliver an event again, as a new delivery of the same bytes, to the client's current URL."""
    event = db.session.get(WebhookEvent, event_id)
    if event is None:
        raise EventNotFound(event_id)
    client = db.session.get(Client, event.client_id)
    if not client or not client.webhook_url:
        raise EventNotFound(f"client of event {event_id} has no webhook URL")
    delivery = _new_delivery(event.id, client, clock_now())
    db.session.commit()
    enqueue_deliveries([delivery.id])
    return delivery
