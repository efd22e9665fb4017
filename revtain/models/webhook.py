"""Outgoing webhooks: the event (exact bytes, written with the state change), its deliveries
and every try."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, due_indexes, new_ulid

PENDING = "pending"
DELIVERED = "delivered"
EXHAUSTED = "failed"


class WebhookEvent(db.Model):
    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_client_created", "client_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)  # eventId
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    type: Mapped[str] = mapped_column(String(64))
    recovery_id: Mapped[str | None] = mapped_column(String(26), index=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        back_populates="event", order_by="WebhookDelivery.created_at"
    )


class WebhookDelivery(db.Model):
    """One delivery of an event to a URL; a replay is a new delivery of the same bytes."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = due_indexes("webhook_deliveries", "next_try_at")

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    event: Mapped[WebhookEvent] = relationship(back_populates="deliveries")
    try_log: Mapped[list[WebhookTry]] = relationship(order_by="WebhookTry.number")


class WebhookTry(db.Model):
    __tablename__ = "webhook_tries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    response_excerpt: Mapped[str | None] = mapped_column(Text)
