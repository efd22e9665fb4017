"""Organic successes logged through pulse: the baseline the CFO report's Lift is measured against."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, new_ulid


class OrganicSuccess(db.Model):
    __tablename__ = "organic_successes"
    __table_args__ = (
        Index("ix_organic_client_created", "client_id", "created_at"),
        Index("ix_organic_client_email_lower", "client_id", text("lower(customer_email)")),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    transaction_id: Mapped[str] = mapped_column(String(128))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # Optional: whose payment it was. A customer's organic success settles their earlier failed
    # payments for the paywall (revtain/recovery/paywall.py).
    customer_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
