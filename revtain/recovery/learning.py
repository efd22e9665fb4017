"""What the ``ai`` block learns from: outcome counts per client, decline code and part of day."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..engine.declines import Decline
from ..engine.scoring import Assessment, Counts, assess, part_of_day
from ..extensions import db
from ..models import Client, OutcomeStat, Recovery


def part_of(client: Client, at: datetime) -> str:
    return part_of_day(at.astimezone(ZoneInfo(client.timezone)))


def code_key(decline: Decline) -> str:
    return decline.code or "-"


def assessment(client: Client, decline: Decline, at: datetime) -> Assessment:
    """One query: this client's counts and everyone's (the sum over all clients' rows)."""
    part = part_of(client, at)
    mine = OutcomeStat.client_id == client.id
    rows = db.session.execute(
        select(mine, func.sum(OutcomeStat.successes), func.sum(OutcomeStat.failures))
        .where(OutcomeStat.decline_code == code_key(decline), OutcomeStat.part_of_day == part)
        .group_by(mine)
    ).all()
    merchant, others = Counts(), Counts()
    for is_mine, successes, failures in rows:
        counts = Counts(int(successes or 0), int(failures or 0))
        if is_mine:
            merchant = counts
        else:
            others = counts
    everyone = Counts(merchant.successes + others.successes, merchant.failures + others.failures)
    return assess(decline.category, decline.code, part, merchant=merchant, everyone=everyone)


def record_outcome(client: Client, recovery: Recovery, decline: Decline, recovered: bool) -> None:
    """Count a finished recovery for its client."""
    if recovery.is_simulated:
        return
    count(client, code_key(decline), part_of(client, recovery.created_at), recovered)


def count(client: Client, code_key: str, part: str, success: bool) -> None:
    """One upsert of the client's own row. There is no all-clients row to update: everyone's
    counts are summed when read, so concurrent clients never wait on one row."""
    column = "successes" if success else "failures"
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(OutcomeStat).values(
        client_id=client.id,
        decline_code=code_key,
        part_of_day=part,
        successes=int(success),
        failures=int(not success),
    )
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["client_id", "decline_code", "part_of_day"],
            set_={column: getattr(OutcomeStat, column) + 1},
        )
    )
