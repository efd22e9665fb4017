"""Execute in a handful of round trips: the statements ``POST /api/recovery/execute`` sends to the
database, counted with an SQLAlchemy event listener (the waste issue 12 measured stays gone)."""

from __future__ import annotations

import contextlib

from sqlalchemy import event

from revtain.extensions import db


@contextlib.contextmanager
def statements(app):
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith("BEGIN"):  # SQLite's explicit BEGIN; PostgreSQL's is implicit
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _execute(client, headers, n: int, **extra):
    body = {"paymentMethodToken": f"tok_rt_{n}", "amount": 4900, "currency": "USD",
            "originalDeclineCode": "do_not_honor", "idempotencyKey": f"rt-{n}", **extra}
    return client.post("/api/recovery/execute", json=body, headers=headers)


def test_recovered_execute_statements(app, client, headers):
    assert _execute(client, headers, 0).status_code == 200  # warm: first-use reads
    with statements(app) as seen:
        answer = _execute(client, headers, 1)
    assert answer.status_code == 200 and answer.get_json()["success"] is True
    listing = "\n".join(seen)
    # Not sent any more: the key lookup (cached), the ai written by an UPDATE after the INSERT, the
    # dunning-cancel UPDATE that cannot match a recovery inserted in the same transaction.
    assert "api_keys" not in listing and "SET ai" not in listing and "UPDATE messages" not in listing, listing
    # Advisory lock (PostgreSQL), duplicate check, ai counts, INSERT, card history, UPDATE, attempt,
    # learning upsert(s), event, delivery; then COMMIT.
    assert len(seen) <= 10, listing
