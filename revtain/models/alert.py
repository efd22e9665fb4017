"""Merchant alerts (contract 8.1, ``notificationChannels``): what the merchant's own team is told
about, how, and every email and text message that tells them, one row each with its due time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, due_indexes, new_ulid

# Channels, as the docs spell them.
WEBHOOK = "WEBHOOK"
EMAIL = "EMAIL"
SMS = "SMS"
CHANNELS = (WEBHOOK, EMAIL, SMS)

# What an alert is about.
PAYMENT_FAILED = "payment_failed"  # a recovery failed for good, at or above the threshold
NEEDS_ATTENTION = "needs_attention"  # a recovery was blocked: fraud to review, or authentication
WEBHOOK_DEAD = "webhook_dead"  # the webhook URL has failed every try for a while
TEST = "test"  # sent on request, to check the channels
KINDS = (PAYMENT_FAILED, NEEDS_ATTENTION, WEBHOOK_DEAD, TEST)

# Notification states.
PENDING = "pending"
SENT = "sent"
FAILED = "failed"
CANCELLED = "cancelled"


class AlertSettings(db.Model):
    """A client's alert settings. No row, or no channels: no alerts (they are opt-in)."""

    __tablename__ = "alert_settings"

    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    channels: Mapped[list] = mapped_column(JSON, default=list)  # a subset of CHANNELS, in that order
    emails: Mapped[list] = mapped_column(JSON, default=list)
    phones: Mapped[list] = mapped_column(JSON, default=list)  # E.164
    # Per currency, the smallest failed payment that alerts (smallest unit); a currency not listed
    # alerts on every failed payment.
    thresholds: Mapped[dict] = mapped_column(JSON, default=dict)
    # Twilio account SID, auth token and sender, as encrypted JSON (AES-256-GCM), like every credential.
    twilio_credentials_encrypted: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Alert(db.Model):
    """One incident. ``incident_key`` is unique while it can repeat (a recovery's failure, a dead
    webhook URL until it answers again), so one incident alerts once."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_client_created", "client_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    kind: Mapped[str] = mapped_column(String(32))
    incident_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    recovery_id: Mapped[str | None] = mapped_column(String(26))
    webhook_url: Mapped[str | None] = mapped_column(String(2048))
    summary: Mapped[str] = mapped_column(String(500))
    # The facts the messages are written from (amount, currency, declineCode, customerEmail, ...).
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    notifications: Mapped[list[AlertNotification]] = relationship(
        back_populates="alert", order_by="AlertNotification.created_at"
    )


class AlertNotification(db.Model):
    """One email or text message of an alert: future work, due at ``send_at``. (The WEBHOOK channel
    is an event in the outbox, delivered like every webhook.)"""

    __tablename__ = "alert_notifications"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel", "to_address", name="uq_alert_notifications_recipient"),
        *due_indexes("alert_notifications", "send_at"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    to_address: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    tries: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(String(500))
    provider_ref: Mapped[str | None] = mapped_column(String(64))  # Twilio's message SID
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    alert: Mapped[Alert] = relationship(back_populates="notifications")
