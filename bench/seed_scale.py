"""Fill a migrated Revtain database the size of a busy deployment, in SQL (seconds, not hours).

    .venv/bin/python bench/seed_scale.py DATABASE_URL [--merchants 5000] [--attempts 1000000]
        [--backlog 100000]

Needs one onboarded client (``revtain onboard``) as the model of the merchants it adds. Adds:
``merchants - 1`` clients like it; ``attempts / 2`` finished recoveries with two gateway attempts
each, spread over the merchants and the last 90 days; ``backlog`` queued recoveries due over the
next 21 days (the retries waiting their turn); outcome counts for 20 decline codes and 4 parts of
the day per merchant and everyone's totals. Then ANALYZE, as autovacuum would soon.
Used by ``execute_vs_baseline.py --scale`` and ``scheduler_throughput.py --scale``.
"""

from __future__ import annotations

import argparse
import sys
import time

CODES = [
    "insufficient_funds", "do_not_honor", "generic_decline", "expired_card", "card_declined",
    "processing_error", "try_again_later", "card_velocity_exceeded", "issuer_not_available",
    "withdrawal_count_limit_exceeded", "incorrect_cvc", "invalid_account", "lost_card", "stolen_card",
    "pickup_card", "restricted_card", "transaction_not_allowed", "currency_not_supported",
    "authentication_required", "-",
]
PARTS = ["night", "morning", "afternoon", "evening"]


def _columns(conn, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [r[0] for r in rows]


def _clone_sql(conn, table: str, overrides: dict[str, str], source: str) -> str:
    """INSERT ... SELECT of every column of ``table``, the ``overrides`` as SQL expressions."""
    cols = _columns(conn, table)
    values = ", ".join(overrides.get(c, f'm."{c}"') for c in cols)
    names = ", ".join(f'"{c}"' for c in cols)
    return f"INSERT INTO {table} ({names}) SELECT {values} FROM {source}"


def seed(database_url: str, merchants: int, attempts: int, backlog: int, log=print) -> None:
    import psycopg

    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=False) as conn:
        model = conn.execute("SELECT id FROM clients ORDER BY created_at LIMIT 1").fetchone()
        if model is None:
            raise SystemExit("no client to copy: run `revtain onboard` first")
        started = time.monotonic()
        conn.execute(
            _clone_sql(conn, "clients", {
                "id": "'00000000-0000-4000-8000-' || lpad(g::text, 12, '0')",
                "name": "'Merchant ' || g",
            }, "clients m, generate_series(1, %(n)s) g WHERE m.id = %(model)s"),
            {"n": max(0, merchants - 1), "model": model[0]},
        )
        client_ids = "(SELECT array_agg(id ORDER BY id) FROM clients)"
        finished = attempts // 2
        recovery_row = {
            "id": "lpad(to_hex(g), 26, '0')",
            "client_id": "ids[1 + g %% array_length(ids, 1)]",
            "payment_method_token": "'pm_seed_' || g",
            "amount": "1000 + g %% 9000",
            "currency": "'USD'",
            "original_decline_code": f"(ARRAY{CODES!r})[1 + g %% {len(CODES)}]".replace('"', "'"),
            "last_decline_code": "NULL",
            "customer_email": "'customer' || g || '@example.com'",
            "fallback_tokens": "'[]'",
            "is_simulated": "false",
            "attempt_count": "2",
            "scheduled_retries": "1",
            "reconcile_tries": "0",
            "created_at": "now() at time zone 'utc' - (g %% 90) * interval '1 day'",
            "updated_at": "now() at time zone 'utc'",
        }
        names = ", ".join(f'"{c}"' for c in recovery_row)
        done = {"status": "CASE WHEN g %% 3 = 0 THEN 'succeeded' ELSE 'failed' END",
                "finished_at": "now() at time zone 'utc'"}
        conn.execute(
            f"INSERT INTO recoveries ({names}, status, finished_at) "
            f"SELECT {', '.join(recovery_row.values())}, {done['status']}, {done['finished_at']} "
            f"FROM generate_series(1, %(n)s) g, {client_ids} ids",
            {"n": finished},
        )
        conn.execute(
            "INSERT INTO attempts (id, recovery_id, client_id, seq, gateway, payment_method_token, "
            "strategy, idempotency_key, outcome, decline_code, created_at) "
            "SELECT r.id || s, r.id, r.client_id, s, 'test', r.payment_method_token, 'smart_retry', "
            "r.id || '-' || s, "
            "CASE WHEN s = 2 AND r.status = 'succeeded' THEN 'approved' ELSE 'declined' END, "
            "r.original_decline_code, r.created_at FROM recoveries r, generate_series(1, 2) s "
            "WHERE r.payment_method_token LIKE 'pm_seed_%%'"
        )
        log(f"{merchants} merchants, {finished} finished recoveries, {2 * finished} attempts "
            f"in {time.monotonic() - started:.0f} s")
        queued = dict(recovery_row, id="'q' || lpad(to_hex(g), 25, '0')",
                      payment_method_token="'pm_backlog_' || g", attempt_count="1", scheduled_retries="0")
        conn.execute(
            f"INSERT INTO recoveries ({names}, status, next_attempt_at) "
            f"SELECT {', '.join(queued.values())}, 'queued', "
            "now() at time zone 'utc' + interval '1 hour' + (g %% 20) * interval '1 day' "
            f"FROM generate_series(1, %(n)s) g, {client_ids} ids",
            {"n": backlog},
        )
        conn.execute(
            "INSERT INTO outcome_stats (client_id, decline_code, part_of_day, successes, failures) "
            "SELECT c.id, code, part, (hashtext(c.id || code || part) & 15), "
            "(hashtext(part || code || c.id) & 31) FROM clients c, unnest(%(codes)s::text[]) code, "
            "unnest(%(parts)s::text[]) part ON CONFLICT DO NOTHING",
            {"codes": CODES, "parts": PARTS},
        )
        conn.execute("DELETE FROM outcome_totals")
        conn.execute(
            "INSERT INTO outcome_totals (decline_code, part_of_day, stripe, successes, failures) "
            "SELECT decline_code, part_of_day, 0, SUM(successes), SUM(failures) FROM outcome_stats "
            "GROUP BY decline_code, part_of_day"
        )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        log(f"seeded in {time.monotonic() - started:.0f} s: backlog {backlog}, outcome counts for "
            f"{merchants} merchants")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("database_url")
    parser.add_argument("--merchants", type=int, default=5000)
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--backlog", type=int, default=100_000)
    args = parser.parse_args()
    seed(args.database_url, args.merchants, args.attempts, args.backlog,
         log=lambda m: print(f"[seed] {m}", file=sys.stderr, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
