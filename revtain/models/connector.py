"""Billing-platform connectors: a client's account on a platform (credentials encrypted) and every
inbound platform event, stored raw and deduplicated on the platform's own event id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, due_indexes, new_ulid

# What an inbound event became, once processed (``ConnectorEvent.kind``).
PAYMENT_FAILED = "payment_failed"
CARD_UPDATED = "card_updated"
PAYMENT_SUCCEEDED = "payment_succeeded"

# ``ConnectorEvent.status``
RECEIVED = "received"  # stored; a job normalises and acts on it when ``process_at`` is due
PROCESSED = "processed"
IGNORED = "ignored"  # an event type Revtain does not act on (stored all the same)
FAILED = "failed"  # the platform could not be read after every try; ``error`` says why


class ConnectorAccount(db.Model):
    """One client's account on one billing platform."""

    __tablename__ = "connector_accounts"
    __table_args__ = (UniqueConstraint("client_id", "platform", name="uq_connector_accounts_platform"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    platform: Mapped[str] = mapped_column(String(32))  # chargebee | recurly | stripe-billing | braintree
    # JSON of the platform's API credentials and webhook secret (or basic-auth pair), AES-256-GCM.
    credentials_encrypted: Mapped[str] = mapped_column(Text)
    # The hand-off: the platform stops its own retries of an invoice once Revtain takes it over.
    # Off: Revtain charges nothing itself and watches the platform's retries (dunning still runs).
    stop_platform_retries: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConnectorEvent(db.Model):
    """An inbound platform webhook, exactly as received. Platforms resend for days: the unique
    (client, platform, event id) makes every resend a no-op."""

    __tablename__ = "connector_events"
    __table_args__ = (
        UniqueConstraint("client_id", "platform", "event_id", name="uq_connector_events_event"),
        *due_indexes("connector_events", "process_at"),
        Index("ix_connector_events_invoice", "client_id", "platform", "invoice_ref"),
        Index("ix_connector_events_customer", "client_id", "platform", "customer_ref"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    platform: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the platform's time
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    status: Mapped[str] = mapped_column(String(16), default=RECEIVED)
    process_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    tries: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What it meant and what Revtain did (filled when processed).
    kind: Mapped[str | None] = mapped_column(String(32))
    invoice_ref: Mapped[str | None] = mapped_column(String(255))
    customer_ref: Mapped[str | None] = mapped_column(String(255))
    payment_method_token: Mapped[str | None] = mapped_column(String(512))
    outcome: Mapped[str | None] = mapped_column(String(64))
    recovery_id: Mapped[str | None] = mapped_column(String(26))
    error: Mapped[str | None] = mapped_column(String(500))
