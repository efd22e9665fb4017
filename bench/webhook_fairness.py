"""Benchmark webhook delivery: N deliveries to receivers answering in 200 ms, one merchant's endpoint
hanging past the timeout, run by the real ``revtain scheduler`` and ``revtain worker`` processes on
PostgreSQL and Redis. Reports deliveries per second, the other merchants' lateness (first try -
due time) and the workers' CPU per delivery.

    .venv/bin/python bench/webhook_fairness.py [--deliveries 20000] [--merchants 20] [--threads 32]

To compare with an older commit, run this file from an export of it (``git archive <commit> | tar
-x -C DIR``, copy this file into ``DIR/bench``, run it with ``PYTHONPATH=DIR``): see bench/README.md.
Every run (re)creates the database ``--database`` and flushes Redis db ``--redis-db``; both are
dropped / flushed at the end. The receivers are one threaded HTTP server in this process.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from common import HOST, PYTHON, REVTAIN, ROOT, log, proc_cpu, revtain_version
from scheduler_throughput import (
    PG_SERVER,
    REDIS_SERVER,
    Proc,
    drop_database,
    flush_redis,
    percentile,
    pg_connect,
    recreate_database,
    stop_all,
    wait_until_ready,
)


class Sink:
    """Answers every POST after ``delay`` seconds; ``/hang`` answers only after ``hang`` seconds."""

    def __init__(self, delay: float, hang: float) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(hang if self.path.startswith("/hang") else delay)
                with contextlib.suppress(OSError):
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        ThreadingHTTPServer.request_queue_size = 1024
        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{HOST}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def stage(database_url: str, env: dict[str, str], sink: Sink, merchants: int, n: int,
          lead: float) -> datetime:
    out = subprocess.run(
        [REVTAIN, "onboard", "--name", "Bench", "--webhook-url", f"{sink.url}/m/0", "--json"],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=120,
    )
    model = json.loads(next(ln for ln in reversed(out.stdout.splitlines()) if ln.startswith("{")))["clientId"]
    t0 = (datetime.now(UTC) + timedelta(seconds=lead)).replace(tzinfo=None)
    with pg_connect(database_url, autocommit=False) as conn:
        cols = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'clients'").fetchall()]
        values = {"id": "'00000000-0000-4000-8000-' || lpad(g::text, 12, '0')", "name": "'Merchant ' || g",
                  "webhook_url": "%(sink)s || CASE WHEN g = 1 THEN '/hang' ELSE '/m/' || g END"}
        conn.execute(
            f"INSERT INTO clients ({', '.join(cols)}) SELECT "
            f"{', '.join(values.get(c, 'm.' + c) for c in cols)} "
            "FROM clients m, generate_series(1, %(k)s) g WHERE m.id = %(model)s",
            {"sink": sink.url, "k": merchants, "model": model},
        )
        conn.execute("DELETE FROM clients WHERE id = %s AND NOT EXISTS (SELECT 1 FROM api_keys "
                     "WHERE client_id = clients.id)", (model,))
        conn.execute(
            "INSERT INTO webhook_events (id, client_id, type, recovery_id, body, created_at) "
            "SELECT 'e' || lpad(g::text, 25, '0'), c.id, 'recovery.success', NULL, "
            "convert_to('{\"event\":\"recovery.success\",\"n\":' || g || '}', 'UTF8'), %(t0)s "
            "FROM generate_series(1, %(n)s) g JOIN (SELECT id, webhook_url, "
            "row_number() OVER (ORDER BY id) - 1 AS k FROM clients WHERE name LIKE 'Merchant %%') c "
            "ON c.k = g %% %(m)s",
            {"t0": t0, "n": n, "m": merchants},
        )
        conn.execute(
            "INSERT INTO webhook_deliveries (id, event_id, client_id, url, status, tries, next_try_at, "
            "created_at) SELECT 'd' || substr(e.id, 2), e.id, e.client_id, c.webhook_url, 'pending', 0, "
            "e.created_at, e.created_at FROM webhook_events e JOIN clients c ON c.id = e.client_id"
        )
        conn.commit()
        conn.execute("ANALYZE")
    return t0


def run(label: str, args: argparse.Namespace, n: int) -> dict:
    database_url = f"{PG_SERVER}/{args.database}"
    redis_url = f"{REDIS_SERVER}/{args.redis_db}"
    work = Path(tempfile.mkdtemp(prefix="revtain-webhook-bench-"))
    env = {**os.environ, "REVTAIN_DATABASE_URL": database_url, "REVTAIN_REDIS_URL": redis_url,
           "REVTAIN_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
           "REVTAIN_SECRET_KEY": secrets.token_urlsafe(32), "REVTAIN_INSTANCE_PATH": str(work / "instance"),
           "REVTAIN_ALLOW_PRIVATE_DESTINATIONS": "true", "REVTAIN_WEBHOOK_ALLOW_HTTP": "true",
           "REVTAIN_SCHEDULER_INTERVAL_SECONDS": "0.2", "REVTAIN_WORKER_THREADS": str(args.threads),
           "REVTAIN_WEBHOOK_TIMEOUT": str(args.timeout_s), "PYTHONUNBUFFERED": "1"}
    env.pop("REVTAIN_ENV", None)
    sink = Sink(args.delay_ms / 1000, args.timeout_s + 1)
    procs: list[Proc] = []
    try:
        recreate_database(args.database)
        flush_redis(redis_url)
        subprocess.run([REVTAIN, "db", "upgrade", "heads"], env=env, cwd=ROOT, check=True,
                       capture_output=True, timeout=180)
        procs.append(Proc("scheduler", [PYTHON, "-m", "revtain", "scheduler"], env, work))
        for i in range(1, args.workers + 1):
            procs.append(Proc(f"worker-{i}", [PYTHON, "-m", "revtain", "worker"], env, work))
        wait_until_ready(procs, redis_url, args.workers, time.monotonic() + 90)
        t0 = stage(database_url, env, sink, args.merchants, n, args.lead)
        log(f"{label}: {n} deliveries to {args.merchants} merchants (1 hanging), due at T0")
        cpu0 = proc_cpu()
        started = time.monotonic()
        others = "client_id <> '00000000-0000-4000-8000-000000000001'"
        with pg_connect(database_url) as conn:
            while time.monotonic() - started < args.limit_s:
                left = conn.execute(f"SELECT count(*) FROM webhook_deliveries WHERE status = 'pending' "
                                    f"AND {others}").fetchone()[0]
                if left == 0:
                    break
                time.sleep(0.5)
            elapsed = time.monotonic() - started
            cpu1 = proc_cpu()
            rows = conn.execute(
                "SELECT extract(epoch FROM first_try_at - created_at), extract(epoch FROM delivered_at - %s) "
                f"FROM webhook_deliveries WHERE status = 'delivered' AND {others}", (t0,)).fetchall()
            hung = conn.execute("SELECT count(*), coalesce(sum(tries), 0) FROM webhook_deliveries WHERE NOT "
                                f"({others})").fetchone()
        stop_all(procs)
        rows = [(float(a), float(b)) for a, b in rows]
        late = sorted(r[0] for r in rows)
        span = max((r[1] for r in rows), default=float("nan"))
        def used(p: Proc) -> float:
            return cpu1[p.pid][2] - cpu0.get(p.pid, (0, "", 0.0))[2] if p.pid in cpu1 else 0.0

        workers_cpu = sum(used(p) for p in procs[1:])
        sched_cpu = used(procs[0])
        return {"label": label, "deliveries": n, "others_delivered": len(rows),
                "others_expected": n - hung[0], "seconds": round(elapsed, 1),
                "per_second": round(len(rows) / span, 1) if rows and span > 0 else 0.0,
                "lateness_p50_s": round(percentile(late, 50), 2),
                "lateness_p99_s": round(percentile(late, 99), 2),
                "hanging_deliveries": hung[0], "hanging_tries": int(hung[1]),
                "worker_cpu_ms_per_delivery": round(1000 * workers_cpu / max(1, len(rows) + hung[1]), 2),
                "scheduler_cpu_s": round(sched_cpu, 1)}
    finally:
        stop_all(procs)
        sink.close()
        with contextlib.suppress(Exception):
            flush_redis(redis_url)
        with contextlib.suppress(Exception):
            drop_database(args.database)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--merchants", type=int, default=20, help="merchants (the first one hangs)")
    parser.add_argument("--delay-ms", type=float, default=200.0, help="how long the receivers take")
    parser.add_argument("--timeout-s", type=float, default=10.0, help="REVTAIN_WEBHOOK_TIMEOUT")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32, help="REVTAIN_WORKER_THREADS")
    parser.add_argument("--lead", type=float, default=2.0)
    parser.add_argument("--limit-s", type=float, default=300.0, help="stop waiting after this long")
    parser.add_argument("--label", default="run", help="a name for this run in the output")
    parser.add_argument("--database", default="h_scale_webhooks")
    parser.add_argument("--redis-db", type=int, default=8)
    args = parser.parse_args()
    log(f"revtain {revtain_version()}, load average {os.getloadavg()}")
    print(json.dumps(run(args.label, args, args.deliveries)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
