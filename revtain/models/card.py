"""Cards tokenised by ``POST /api/recovery/tokenize`` (test gateway): the token and what may be kept
of a card (brand, BIN, last four digits), never the number, the expiry or the security code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, new_ulid


class CardToken(db.Model):
    __tablename__ = "card_tokens"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    brand: Mapped[str] = mapped_column(String(16))
    bin: Mapped[str] = mapped_column(String(6))
    last4: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
