"""How fast a billing platform gets its answer: ``POST /api/connectors/stripe-billing/webhook/…``
under gunicorn on PostgreSQL + Redis, with Stripe-signed ``invoice.payment_failed`` events (a new
event id each), from ``--connections`` threads for ``--duration`` seconds. The endpoint verifies the
signature, stores the raw event, deduplicates and enqueues a job; no worker runs, so the figures
are the answer only. Then every 20th event is sent again, to show resends are cheap 200s.

    .venv/bin/python bench/connector_ingest.py [--duration 15] [--connections 8]

It uses the database ``revtain_bench`` (dropped and re-created) and Redis db 14 (flushed).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import stripe
from common import REVTAIN, ROOT, log, revtain_version
from execute_vs_baseline import (
    PG_SERVER,
    REDIS_SERVER,
    Server,
    drop_database,
    flush_redis,
    free_port,
    query,
    recreate_database,
)

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"bench" * 6).decode()


def event_body(n: int, run: str) -> bytes:
    invoice = {"id": f"in_bench{run}{n:07d}", "object": "invoice", "amount_due": 4900,
               "amount_remaining": 4900, "currency": "usd", "customer": f"cus_bench{n:07d}",
               "customer_email": f"c{n}@example.com", "status": "open"}
    return json.dumps({"id": f"evt_bench{run}{n:07d}", "object": "event", "api_version": stripe.api_version,
                       "created": int(time.time()), "data": {"object": invoice}, "livemode": False,
                       "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
                       "type": "invoice.payment_failed"}).encode()


def signed(body: bytes) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), WEBHOOK_SECRET)
    return {"Content-Type": "application/json", "Stripe-Signature": header}


def load(url: str, connections: int, duration: float, run: str, resend_of: int = 0):
    """Closed loop: each thread posts, waits for the answer, posts the next. With ``resend_of``,
    every 20th of the first ``resend_of`` events again. Returns latencies (s) and status counts."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(10**9))
    deadline = time.monotonic() + duration

    def worker() -> None:
        session = requests.Session()
        while time.monotonic() < deadline:
            with lock:
                n = next(counter)
            if resend_of:
                n = (n * 20) % resend_of  # an event already stored
            body = event_body(n, run)
            started = time.perf_counter()
            r = session.post(url, data=body, headers=signed(body), timeout=30)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, statuses


def report(name: str, latencies: list[float], statuses: dict[int, int], duration: float) -> None:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))] * 1000

    mean = statistics.mean(ordered) * 1000
    print(f"{name:<10}{len(ordered) / duration:>8.1f}{pct(50):>10.2f}{pct(90):>10.2f}{pct(99):>10.2f}"
          f"{max(ordered) * 1000:>10.1f}{mean:>10.2f}{len(ordered):>10}  {statuses}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    database = "revtain_bench"
    database_url, redis_url = f"{PG_SERVER}/{database}", f"{REDIS_SERVER}/14"
    work = Path(tempfile.mkdtemp(prefix="revtain-bench-"))
    env = {**os.environ, "REVTAIN_DATABASE_URL": database_url, "REVTAIN_REDIS_URL": redis_url,
           "REVTAIN_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
           "REVTAIN_SECRET_KEY": secrets.token_urlsafe(32), "REVTAIN_INSTANCE_PATH": str(work / "instance")}
    env.pop("REVTAIN_ENV", None)
    server = None
    try:
        recreate_database(database)
        flush_redis(redis_url)
        subprocess.run([REVTAIN, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True,
                       timeout=120)
        out = subprocess.run(
            [REVTAIN, "onboard", "--name", "Bench", "--connector", "stripe-billing",
             "--connector-set", "secret_key=sk_test_bench000000000000000000",
             "--connector-set", f"webhook_secret={WEBHOOK_SECRET}", "--json"],
            env=env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=60)
        client_id = json.loads(out.stdout.strip().splitlines()[-1])["clientId"]
        server = Server("connectors", "revtain:create_app()", free_port(), env, args.workers, work)
        server.wait_ready()
        url = f"{server.base_url}/api/connectors/stripe-billing/webhook/{client_id}"
        run = secrets.token_hex(3)
        load(url, args.connections, 2.0, "w" + run)  # warm-up
        log(f"measuring {args.duration:.0f} s at {args.connections} connections, "
            f"{args.workers} gunicorn workers")
        print(f"revtain {revtain_version()}; {os.cpu_count()} CPUs; {args.connections} connections")
        print(f"{'phase':<10}{'rps':>8}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'max ms':>10}"
              f"{'mean ms':>10}{'requests':>10}  statuses")
        latencies, statuses = load(url, args.connections, args.duration, run)
        report("new", latencies, statuses, args.duration)
        count_sql = f"SELECT count(*) FROM connector_events WHERE event_id LIKE 'evt_bench{run}%%'"
        stored = query(database_url, count_sql)
        resend_seconds = min(args.duration, 5.0)
        resent, resent_statuses = load(url, args.connections, resend_seconds, run, resend_of=stored[0][0])
        report("resent", resent, resent_statuses, resend_seconds)
        after = query(database_url, count_sql)
        print(f"events stored: {stored[0][0]} after the new-event phase ({len(latencies)} answered), "
              f"{after[0][0]} after the resends (resends store nothing)")
        return 0
    finally:
        if server is not None:
            server.stop()
        drop_database(database)
        flush_redis(redis_url)


if __name__ == "__main__":
    sys.exit(main())
