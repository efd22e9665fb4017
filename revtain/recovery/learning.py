"""What the ``ai`` block learns from: outcome counts per client, decline code and part of day."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..engine.declines import Decline
from ..engine.scoring import Assessment, Counts, assess, part_of_day
from ..extensions import db
from ..models import Client, OutcomeStat, Recovery
from ..models.stats import ALL_CLIENTS


def _part(client: Client, at: datetime) -> str:
    return part_of_day(at.astimezone(ZoneInfo(client.timezone)))


def _code_key(decline: Decline) -> str:
    return decline.code or "-"


def assessment(client: Client, decline: Decline, at: datetime) -> Assessment:
    part = _part(client, at)
    rows = db.session.execute(
        select(OutcomeStat).where(
            OutcomeStat.client_id.in_((client.id, ALL_CLIENTS)),
            OutcomeStat.decline_code == _code_key(decline),
            OutcomeStat.part_of_day == part,
        )
    ).scalars()
    counts = {row.client_id: Counts(row.successes, row.failures) for row in rows}
    return assess(
        decline.category,
        decline.code,
        part,
        merchant=counts.get(client.id, Counts()),
        everyone=counts.get(ALL_CLIENTS, Counts()),
    )


def record_outcome(client: Client, recovery: Recovery, decline: Decline, recovered: bool) -> None:
    """Count a finished recovery for its client and for all clients (one upsert of two rows)."""
    if recovery.is_simulated:
        return
    part = _part(client, recovery.created_at)
    column = "successes" if recovered else "failures"
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(OutcomeStat).values(
        [
            {
                "client_id": client_id,
                "decline_code": _code_key(decline),
                "part_of_day": part,
                "successes": int(recovered),
                "failures": int(not recovered),
            }
            for client_id in (client.id, ALL_CLIENTS)
        ]
    )
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["client_id", "decline_code", "part_of_day"],
            set_={column: getattr(OutcomeStat, column) + 1},
        )
    )
