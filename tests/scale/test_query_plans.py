"""The hot queries stay index range scans as tables grow: read from PostgreSQL's own ``EXPLAIN`` of
the exact statements the code runs (PostgreSQL only: SQLite's planner is another matter)."""

from __future__ import annotations

import contextlib
import os
from datetime import timedelta

import pytest
from sqlalchemy import event, text

from revtain.clock import now as clock_now
from revtain.extensions import db
from revtain.models import Recovery, WebhookDelivery
from revtain.models.webhook import PENDING
from revtain.recovery.learning import counts_query
from revtain.recovery.retry import SCHEDULED_STATES
from revtain.scheduler import sweep_queries

pytestmark = pytest.mark.skipif(
    not os.environ.get("REVTAIN_TEST_DATABASE_URL"), reason="EXPLAIN plans are read on PostgreSQL"
)

ROWS = 60_000  # enough for the planner to prefer an index over reading the table


@contextlib.contextmanager
def explained():
    """Every statement run inside is replaced by ``EXPLAIN`` of itself, with its real parameters."""

    def prepend(conn, cursor, statement, parameters, context, executemany):
        return "EXPLAIN " + statement, parameters

    engine = db.engine
    event.listen(engine, "before_cursor_execute", prepend, retval=True)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", prepend)


def plan_of(query) -> str:
    with explained():
        return "\n".join(row[0] for row in db.session.execute(query))


def _fill(client_id: str) -> None:
    """``ROWS`` recoveries, most finished; a tenth scheduled (half due), a twentieth enqueued long ago;
    ``ROWS`` outcome counts of other clients; then ANALYZE."""
    db.session.execute(text("""
        INSERT INTO recoveries (id, client_id, payment_method_token, amount, currency, status,
            is_simulated, attempt_count, scheduled_retries, reconcile_tries, fallback_tokens,
            created_at, updated_at, next_attempt_at, enqueued_at)
        SELECT lpad(g::text, 26, '0'), :client, 'tok_' || g, 1000, 'USD',
            CASE WHEN g % 10 = 0 THEN 'queued' ELSE 'succeeded' END, false, 1, 0, 0, '[]',
            now(), now(),
            CASE WHEN g % 10 = 0 THEN now() + (g % 1000 - 500) * interval '1 minute' END,
            CASE WHEN g % 20 = 0 THEN now() - interval '1 hour' END
        FROM generate_series(1, :rows) g
    """), {"client": client_id, "rows": ROWS})
    db.session.execute(text("""
        INSERT INTO outcome_stats (client_id, decline_code, part_of_day, successes, failures)
        SELECT 'other-' || g, 'do_not_honor', 'morning', 1, 2 FROM generate_series(1, :rows) g
    """), {"rows": ROWS})
    db.session.execute(text("""
        INSERT INTO outcome_totals (decline_code, part_of_day, stripe, successes, failures)
        SELECT 'code_' || g, 'morning', s, 1, 1 FROM generate_series(1, 2000) g, generate_series(0, 15) s
    """))
    db.session.commit()
    db.session.execute(text("ANALYZE outcome_totals"))
    db.session.execute(text("ANALYZE recoveries"))
    db.session.execute(text("ANALYZE outcome_stats"))
    db.session.commit()


def test_scheduler_sweeps_scan_their_partial_indexes(app, merchant):
    with app.app_context():
        _fill(merchant.client_id)
        now = clock_now() + timedelta(hours=1)
        never, stale = sweep_queries(Recovery, Recovery.next_attempt_at,
                                     Recovery.status.in_(SCHEDULED_STATES), now)
        never_plan, stale_plan = plan_of(never.limit(500)), plan_of(stale.limit(500))
        delivery_plan = plan_of(sweep_queries(WebhookDelivery, WebhookDelivery.next_try_at,
                                              WebhookDelivery.status == PENDING, now)[0].limit(500))
    assert "ix_recoveries_due_new" in never_plan and "Seq Scan" not in never_plan, never_plan
    assert "ix_recoveries_due_stale" in stale_plan and "Seq Scan" not in stale_plan, stale_plan
    assert "Seq Scan" not in delivery_plan, delivery_plan


def test_ai_prior_reads_primary_keys_not_every_clients_counts(app, merchant):
    with app.app_context():
        _fill(merchant.client_id)
        plan = plan_of(counts_query(merchant.client_id, "do_not_honor", "morning"))
    assert "Seq Scan" not in plan and "outcome_stats_pkey" in plan and "outcome_totals_pkey" in plan, plan
