"""Column types shared by the models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import DateTime, Index, text
from sqlalchemy.types import TypeDecorator
from ulid import ULID


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (SQLite has no time zones) and always hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not accepted; use revtain.clock.now()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


def new_ulid() -> str:
    return str(ULID())


def new_uuid() -> str:
    return str(uuid.uuid4())


def due_indexes(table: str, due: str) -> tuple[Index, Index]:
    """The scheduler's two sweeps of a table of future work (``revtain/scheduler.py``), each a range
    scan of a partial index whose cost is the rows it returns, however large the table or backlog:
    due rows never enqueued (by due time), and enqueued rows not claimed since (by when enqueued)."""
    never = text(f"enqueued_at IS NULL AND {due} IS NOT NULL")
    enqueued = text(f"enqueued_at IS NOT NULL AND {due} IS NOT NULL")
    return (
        Index(f"ix_{table}_due_new", due, sqlite_where=never, postgresql_where=never),
        Index(f"ix_{table}_due_stale", "enqueued_at", sqlite_where=enqueued, postgresql_where=enqueued),
    )
