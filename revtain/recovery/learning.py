"""What the engine learns from: outcome counts per client, decline code and part of day (the ``ai``
block), and scheduled retries' outcomes per client, decline family and local hour and weekday (the
planner's learned timing)."""

from __future__ import annotations

import zlib
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import CompoundSelect, func, literal, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..engine.declines import Decline, classify
from ..engine.learned_timing import SlotCounts, TimingChoice, choose
from ..engine.scoring import Assessment, Counts, assess, part_of_day
from ..extensions import db
from ..models import Client, OutcomeStat, OutcomeTotal, Recovery, TimingStat
from ..models.stats import TOTAL_STRIPES


def part_of(client: Client, at: datetime) -> str:
    return part_of_day(at.astimezone(ZoneInfo(client.timezone)))


def code_key(decline: Decline) -> str:
    return decline.code or "-"


def assessment(client: Client, decline: Decline, at: datetime) -> Assessment:
    """One query of at most ``TOTAL_STRIPES`` + 1 primary-key rows: this client's counts and
    everyone's (the stripes of ``outcome_totals``), so its cost does not grow with the clients."""
    part = part_of(client, at)
    merchant, total = Counts(), Counts()
    for is_mine, successes, failures in db.session.execute(counts_query(client.id, code_key(decline), part)):
        counts = Counts(int(successes or 0), int(failures or 0))
        if is_mine:
            merchant = counts
        else:
            total = counts
    return assess(decline.category, decline.code, part, merchant=merchant, everyone=total)


def counts_query(client_id: str, code: str, part: str) -> CompoundSelect:
    """(True, this client's successes, failures) and (False, everyone's)."""
    mine = select(literal(True).label("mine"), OutcomeStat.successes, OutcomeStat.failures).where(
        OutcomeStat.client_id == client_id, OutcomeStat.decline_code == code, OutcomeStat.part_of_day == part
    )
    everyone = select(
        literal(False).label("mine"), func.sum(OutcomeTotal.successes), func.sum(OutcomeTotal.failures)
    ).where(OutcomeTotal.decline_code == code, OutcomeTotal.part_of_day == part)
    return union_all(mine, everyone)


def record_outcome(client: Client, recovery: Recovery, decline: Decline, recovered: bool) -> None:
    """Count a finished recovery for its client."""
    if recovery.is_simulated:
        return
    count(client, code_key(decline), part_of(client, recovery.created_at), recovered)


def count(client: Client, code_key: str, part: str, success: bool) -> None:
    """One upsert of the client's own row and one of its stripe of everyone's counts (a client
    always counts into the same stripe, so concurrent clients seldom wait on one row)."""
    column = "successes" if success else "failures"
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    insert = pg_insert if postgresql else sqlite_insert
    mine = insert(OutcomeStat).values(
        client_id=client.id,
        decline_code=code_key,
        part_of_day=part,
        successes=int(success),
        failures=int(not success),
    ).on_conflict_do_update(
        index_elements=["client_id", "decline_code", "part_of_day"],
        set_={column: getattr(OutcomeStat, column) + 1},
    )
    everyone = insert(OutcomeTotal).values(
        decline_code=code_key,
        part_of_day=part,
        stripe=zlib.crc32(client.id.encode()) % TOTAL_STRIPES,
        successes=int(success),
        failures=int(not success),
    ).on_conflict_do_update(
        index_elements=["decline_code", "part_of_day", "stripe"],
        set_={column: getattr(OutcomeTotal, column) + 1},
    )
    if postgresql:  # one round trip: the second upsert rides along as a data-modifying CTE
        db.session.execute(mine.add_cte(everyone.cte("everyone")))
    else:
        db.session.execute(mine)
        db.session.execute(everyone)


# -- learned retry timing (engine/learned_timing.py) ---------------------------------------------


def family_of(recovery: Recovery) -> str:
    """The decline family a recovery's retries are planned and learned for: its first decline's."""
    return classify(recovery.original_decline_code).family


def _timing_counts(client: Client, family: str) -> dict[str, tuple[dict, dict]]:
    """dimension -> (this client's counts, everyone's counts) per slot, in one query."""
    mine = TimingStat.client_id == client.id
    rows = db.session.execute(
        select(mine, TimingStat.dimension, TimingStat.slot,
               func.sum(TimingStat.successes), func.sum(TimingStat.failures))
        .where(TimingStat.family == family)
        .group_by(mine, TimingStat.dimension, TimingStat.slot)
    ).all()
    counts: dict[str, tuple[dict, dict]] = {"hour": ({}, {}), "weekday": ({}, {})}
    for is_mine, dimension, slot, successes, failures in rows:
        if dimension not in counts:
            continue
        own, everyone = counts[dimension]
        value = SlotCounts(int(successes or 0), int(failures or 0))
        if is_mine:
            own[slot] = value
        before = everyone.get(slot, SlotCounts())
        everyone[slot] = SlotCounts(before.successes + value.successes, before.failures + value.failures)
    return counts


def timing_for(client: Client, recovery: Recovery) -> TimingChoice:
    """The learned local hour and poor weekdays for this recovery's next retry."""
    config = current_app.config
    counts = _timing_counts(client, family_of(recovery))
    return choose(
        config["RETRY_LOCAL_HOUR"], counts["hour"], counts["weekday"],
        min_samples=config["RETRY_LEARNING_MIN_SAMPLES"],
        prior_strength=config["RETRY_LEARNING_PRIOR_STRENGTH"],
        explore_share=config["RETRY_EXPLORATION_SHARE"],
        weekday_below=config["RETRY_LEARNING_WEEKDAY_BELOW"],
        key=f"{recovery.id}:{recovery.scheduled_retries}",
    )


def record_attempt(client: Client, recovery: Recovery, zone: str, at: datetime, recovered: bool) -> None:
    """Count a scheduled retry's outcome at the customer's local hour and weekday."""
    if recovery.is_simulated:
        return
    local = at.astimezone(ZoneInfo(zone))
    column = "successes" if recovered else "failures"
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for dimension, slot in (("hour", local.hour), ("weekday", local.weekday())):
        stmt = insert(TimingStat).values(
            client_id=client.id, family=family_of(recovery), dimension=dimension, slot=slot,
            successes=int(recovered), failures=int(not recovered),
        )
        db.session.execute(stmt.on_conflict_do_update(
            index_elements=["client_id", "family", "dimension", "slot"],
            set_={column: getattr(TimingStat, column) + 1},
        ))
