"""Running outcome counts per client, decline code and part of day: what the ``ai`` block learns
from. Everyone's counts are kept apart, in a few stripes (``OutcomeTotal``)."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class OutcomeStat(db.Model):
    __tablename__ = "outcome_stats"

    client_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    decline_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    part_of_day: Mapped[str] = mapped_column(String(16), primary_key=True)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)


# Everyone's counts are kept in a few stripes per decline code and part of day, so reading them
# costs a handful of rows whatever the number of clients, and concurrent clients rarely wait on
# the same row (a client always counts into the stripe its id hashes to).
TOTAL_STRIPES = 16


class OutcomeTotal(db.Model):
    """All clients' outcome counts per decline code and part of day, in ``TOTAL_STRIPES`` rows."""

    __tablename__ = "outcome_totals"

    decline_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    part_of_day: Mapped[str] = mapped_column(String(16), primary_key=True)
    stripe: Mapped[int] = mapped_column(Integer, primary_key=True)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)


class TimingStat(db.Model):
    """Outcomes of scheduled retries per client, decline family and the customer's local hour
    (``dimension`` "hour", slot 0-23) or weekday ("weekday", slot 0-6, Monday = 0)."""

    __tablename__ = "timing_stats"

    client_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    family: Mapped[str] = mapped_column(String(32), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(8), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    successes: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
