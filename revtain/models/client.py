"""A merchant (client) and its API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..choices import GATEWAYS as GATEWAYS
from ..extensions import db
from .base import UTCDateTime, new_uuid

TEST_GATEWAY = "test"


class Client(db.Model):
    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(200))
    webhook_url: Mapped[str | None] = mapped_column(String(2048))
    webhook_secret_encrypted: Mapped[str] = mapped_column(Text)
    gateway: Mapped[str] = mapped_column(String(32), default=TEST_GATEWAY)
    gateway_credentials_encrypted: Mapped[str | None] = mapped_column(Text)
    # Up to two backup gateways: [{"gateway": "...", "credentials": "<encrypted>"}].
    backup_gateways: Mapped[list] = mapped_column(JSON, default=list)
    billing_cycle_day: Mapped[int | None] = mapped_column(Integer)
    # Retry window and budget; None means the configured defaults (RETRY_WINDOW_DAYS, …).
    retry_window_days: Mapped[int | None] = mapped_column(Integer)
    retry_max_attempts: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    dunning_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    dunning_channel: Mapped[str] = mapped_column(String(16), default="email")
    card_update_domain: Mapped[str | None] = mapped_column(String(253), unique=True)
    # Set once the domain is shown to point at Revtain; only then are its pages served.
    card_update_domain_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    brand_name: Mapped[str | None] = mapped_column(String(200))
    brand_logo_url: Mapped[str | None] = mapped_column(String(2048))
    brand_primary_color: Mapped[str | None] = mapped_column(String(7))
    # Where the customer gets help, shown on the card-update page.
    brand_support_email: Mapped[str | None] = mapped_column(String(320))
    brand_support_url: Mapped[str | None] = mapped_column(String(2048))
    # Proof Mode (contract 9.4): off by default; the share of customers held out, in percent.
    proof_mode_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    proof_mode_share: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    # Pre-retry check (revtain/recovery/pre_retry.py): asked before each scheduled retry; the
    # timeout in seconds, None for PRE_RETRY_CHECK_TIMEOUT.
    pre_retry_check_url: Mapped[str | None] = mapped_column(String(2048))
    pre_retry_check_timeout: Mapped[float | None] = mapped_column(Float)
    # Sender identity of dunning emails (a sequence's own from/reply-to overrides them); None: the
    # brand name and MAIL_FROM. The address should be on a domain with SPF and DKIM for the SMTP
    # server (the dashboard's settings explain it).
    sender_name: Mapped[str | None] = mapped_column(String(200))
    sender_address: Mapped[str | None] = mapped_column(String(320))
    sender_reply_to: Mapped[str | None] = mapped_column(String(320))
    # An open-tracking pixel in dunning emails: off unless the merchant allows it.
    email_open_tracking: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # SMS dunning steps (Twilio, the merchant's own account): opt-in.
    sms_dunning_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="client")

    @property
    def is_test_gateway(self) -> bool:
        return self.gateway == TEST_GATEWAY


class ApiKey(db.Model):
    """An API key, stored only as its SHA-256; ``prefix`` lets a person recognise it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "secret" | "publishable"
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    client: Mapped[Client] = relationship(back_populates="api_keys")
