"""Proof Mode assignments: which group each failed payment's customer was in while Proof Mode was on.

One row per recovery started while the client had Proof Mode on. The group is decided once, at
the failure, and never changes. ``window_ends_at`` is the end of the observation window the
invoice was promised (30 days by default); the report counts the invoice only after it. For the
control group, ``paid_at`` and ``paid_via`` say when and how the invoice was paid without Revtain
(``pulse`` or the billing platform's name).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime


class ProofAssignment(db.Model):
    __tablename__ = "proof_assignments"
    __table_args__ = (
        Index("ix_proof_assignments_customer", "client_id", "customer_key"),
        Index("ix_proof_assignments_window", "client_id", "window_ends_at"),
    )

    recovery_id: Mapped[str] = mapped_column(ForeignKey("recoveries.id"), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    # HMAC of the customer key (email, platform customer or token): no email stored twice.
    customer_key: Mapped[str] = mapped_column(String(64))
    proof_group: Mapped[str] = mapped_column(String(16))  # treatment | control
    share: Mapped[int] = mapped_column(Integer)  # the control share in force, in percent
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    window_ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_via: Mapped[str | None] = mapped_column(String(32))
