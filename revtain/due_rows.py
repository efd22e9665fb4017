"""Claiming a due row: the one way a job takes a piece of scheduled work.

Future work is a row with a due time. A job claims its row with a compare-and-set that moves the
due time forward by a lease: only one claimant can win, so a job run twice acts once, and if the
worker dies mid-way the row is simply due again when the lease ends. Works alike on SQLite and
PostgreSQL, and holds no database lock while the job talks to the outside world.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import ColumnElement, update

from .clock import now as clock_now
from .extensions import db


def claim(model, row_id: str, due_column: str, still_wanted: ColumnElement[bool]) -> bool:
    """Take row ``row_id`` if ``still_wanted`` holds and it is due. True if this caller got it."""
    now = clock_now()
    lease = now + timedelta(seconds=current_app.config["CLAIM_LEASE_SECONDS"])
    due = getattr(model, due_column)
    result = db.session.execute(
        update(model)
        .where(model.id == row_id, still_wanted, due <= now)
        .values({due_column: lease, "enqueued_at": None})
    )
    db.session.commit()
    return result.rowcount == 1
