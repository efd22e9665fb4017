"""Card-update links (contract 3.5-3.6): single-use, expiring, stored only as a hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, new_ulid


class CardUpdateLink(db.Model):
    __tablename__ = "card_update_links"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    payment_method_token: Mapped[str] = mapped_column(String(512))  # the card to replace
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    new_payment_method_token: Mapped[str | None] = mapped_column(String(512))
    new_card_brand: Mapped[str | None] = mapped_column(String(16))
    new_card_last4: Mapped[str | None] = mapped_column(String(4))
    recovery_id: Mapped[str | None] = mapped_column(String(26))  # the recovery retried on submit
    # The card-update page opened (GET) while the link was usable: for the recovery's timeline.
    open_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
