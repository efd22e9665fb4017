"""Rate-limit counters kept in the database: the execute limit's count while Redis is unreachable
(``revtain/api/ratelimit.py``), so every process still shares one count per key and window."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class RateLimitWindow(db.Model):
    __tablename__ = "rate_limit_windows"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    # The window's start, in seconds since the epoch (fixed windows, as in Redis).
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
