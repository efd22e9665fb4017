"""Risk predictions (``/api/predict/risk``) and the outcomes merchants report for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime


class Prediction(db.Model):
    __tablename__ = "predictions"
    __table_args__ = (Index("ix_predictions_card", "client_id", "payment_method_token", "created_at"),)

    id: Mapped[str] = mapped_column(String(17), primary_key=True)  # pred_ + 12 hex
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    payment_method_token: Mapped[str] = mapped_column(String(512))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    basis_decline_code: Mapped[str] = mapped_column(String(64))
    part_of_day: Mapped[str] = mapped_column(String(16))
    risk_score: Mapped[float] = mapped_column(Float)
    confidence: Mapped[int] = mapped_column(Integer)
    recommendation: Mapped[str] = mapped_column(String(32))
    factors: Mapped[list] = mapped_column(JSON)
    actual_outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
