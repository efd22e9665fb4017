"""Receiving a platform's webhook: verify it the platform's way, store it raw, deduplicate it on the
platform's event id, and leave the work to a job so the platform gets its answer fast.

Platforms resend for days and out of order: a resend finds its own row (the unique index on
client, platform and event id) and is acknowledged without doing anything twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.exc import IntegrityError

from ..clock import now as clock_now
from ..extensions import db
from ..models import Client, ConnectorEvent
from ..models.connector import IGNORED, RECEIVED
from ..queues import enqueue_connector_events
from . import MODULES, accounts
from .base import BadPayload

MAX_EVENT_ID = 255
MAX_EVENT_TYPE = 100

Outcome = Literal["accepted", "duplicate", "ignored"]


class UnknownConnector(LookupError):
    """No such platform, client, or connector for that client: a 404 (``thing`` says which)."""

    def __init__(self, thing: str) -> None:
        super().__init__(thing)
        self.thing = thing


@dataclass(frozen=True)
class Received:
    outcome: Outcome
    event: ConnectorEvent


def _client(client_id: str) -> Client | None:
    try:
        uuid.UUID(client_id)
    except ValueError:
        return None
    return db.session.get(Client, client_id)


def receive(platform: str, client_id: str, headers: Mapping[str, str], body: bytes) -> Received:
    """Raises ``UnknownConnector`` (404), ``Unauthorized`` (401) or ``BadPayload`` (400); nothing is
    stored in those cases."""
    module = MODULES.get(platform)
    if module is None:
        raise UnknownConnector("Connector")
    client = _client(client_id)
    if client is None:
        raise UnknownConnector("Client")
    account = accounts.get(client.id, platform)
    if account is None:
        raise UnknownConnector("Connector")
    inbound = module.read(accounts.credentials_of(account), headers, body)
    if len(inbound.event_id) > MAX_EVENT_ID or "\x00" in inbound.event_id + inbound.event_type:
        raise BadPayload("the event id or type is not one this platform sends")
    now = clock_now()
    handled = module.handled(inbound.event_type)
    event = ConnectorEvent(
        client_id=client.id, platform=platform, event_id=inbound.event_id,
        event_type=inbound.event_type[:MAX_EVENT_TYPE], body=body.decode("utf-8", "replace"),
        occurred_at=inbound.occurred_at, received_at=now, tries=0,
        status=RECEIVED if handled else IGNORED,
        process_at=now if handled else None, enqueued_at=now if handled else None,
        outcome=None if handled else "unhandled_event_type",
    )
    db.session.add(event)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = db.session.execute(
            db.select(ConnectorEvent).where(ConnectorEvent.client_id == client.id,
                                            ConnectorEvent.platform == platform,
                                            ConnectorEvent.event_id == inbound.event_id)
        ).scalar_one()
        return Received("duplicate", existing)
    if handled:
        enqueue_connector_events([event.id])
    return Received("accepted" if handled else "ignored", event)
