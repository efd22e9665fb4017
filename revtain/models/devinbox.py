"""Webhooks received by the development inbox (``/dev/webhook-inbox``), development only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime


class DevInboxMessage(db.Model):
    __tablename__ = "dev_inbox_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    event_type: Mapped[str | None] = mapped_column(String(64))
    headers: Mapped[dict] = mapped_column(JSON)
    body: Mapped[str] = mapped_column(Text)
    signature_valid: Mapped[bool] = mapped_column(Boolean)
    standard_signature_valid: Mapped[bool] = mapped_column(Boolean)
