"""Pre-retry checks: before a scheduled retry, the merchant's URL is asked whether to go ahead.

One row per question asked, kept as the recovery's timeline shows it: when, how long the answer
took, what came back (status, the start of the body, or the error) and what Revtain decided.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, new_ulid

PROCEED = "proceed"
SKIP = "skip"


class PreRetryCheck(db.Model):
    __tablename__ = "pre_retry_checks"
    __table_args__ = (Index("ix_pre_retry_checks_recovery", "recovery_id", "asked_at"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)  # the checkId
    recovery_id: Mapped[str] = mapped_column(ForeignKey("recoveries.id"))
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    retry_number: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(2048))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(String(500))  # why the answer could not be used
    decision: Mapped[str] = mapped_column(String(16))  # proceed | skip
    reason: Mapped[str | None] = mapped_column(String(64))  # the merchant's reason to skip
