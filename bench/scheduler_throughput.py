"""Benchmark the scheduler and the RQ workers: 100,000 queued recoveries that fall due within one
minute, run by the real ``revtain scheduler`` and two real ``revtain worker`` processes on
PostgreSQL and Redis. See ``bench/README.md``.

    .venv/bin/python bench/scheduler_throughput.py [--recoveries 100000] [--workers 2]

What it does, every run:

1. drops and re-creates the database ``revtain_sched_bench`` (never the tests' ``test``), runs
   Revtain's migrations into it with ``revtain db upgrade heads`` and flushes Redis db 14;
2. onboards a test-gateway merchant with ``revtain onboard --json`` and no webhook URL: a success
   writes its ``recovery.success`` event to the outbox but no delivery, so only recovery jobs run;
3. makes one queued recovery through Revtain's own service (``recovery.start.start`` with decline
   ``insufficient_funds``, which is queued for a smart retry without a charge), reads back the row
   it wrote and deletes it; COPYs N variants of that row into a table of its own, ``bench_due``:
   distinct ids, tokens (approved by the test gateway, one card each), idempotency keys, e-mails,
   amounts and BINs, created over the previous three days, each with a due offset in [0, window);
4. starts ``revtain scheduler`` and ``revtain worker`` x 2, waits until they are up, then inserts
   the staged rows into ``recoveries`` in one transaction with ``next_attempt_at`` = T0 + offset,
   T0 a few seconds ahead (``bench_due`` keeps the due times: the app overwrites the column);
5. polls until no recovery is ``queued`` (bounded by ``--timeout``), stops the processes by their
   pid and prints throughput, lateness (``attempts.created_at`` - due time), outcomes, the CPU used
   by each process and what the PostgreSQL backends were doing; then drops the database and
   flushes Redis db 14 (``--keep-db`` keeps the database for inspection).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import (  # bench/ runs as scripts, so bench/ is on sys.path
    CLK_TCK,
    FOREIGN_WARN_CORES,
    HOST,
    PROTECTED_DATABASES,
    PYTHON,
    REVTAIN,
    ROOT,
    log,
    proc_cpu,
    revtain_version,
)

PG_SERVER = f"postgresql://postgres@{HOST}:5432"
REDIS_SERVER = f"redis://{HOST}:6379"
RECOVERY_QUEUE = "recoveries"
STALL_S = 120.0  # abort when no recovery leaves 'queued' for this long
TEARDOWN_RESERVE_S = 45.0  # of --timeout, kept for stopping, analysing and cleaning up

AMOUNTS = (999, 1500, 1999, 2900, 4900, 9900, 19900, 49900)  # never 44: the test gateway's failure
BINS = ("411111", "424242", "400005", "555555", "510510", "222300", "378282", None)

# Run with Revtain's environment: one queued recovery written by the real execute service.
TEMPLATE_SCRIPT = r"""
import json, sys
from revtain import create_app
from revtain.extensions import db
from revtain.models import Client
from revtain.recovery.start import ExecuteInput, start

app = create_app()
with app.app_context():
    client = db.session.get(Client, sys.argv[1])
    started = start(client, ExecuteInput(
        payment_method_token="pm_bench_template", amount=4900, currency="USD",
        original_decline_code="insufficient_funds", idempotency_key="bench-template",
        customer_email="template@example.com", card_origin="US", bin_prefix="411111",
        payment_method_type="card",
    ))
    print(json.dumps({"kind": started.kind, "id": started.recovery.id}))
"""


# ---------------------------------------------------------------- helpers


def pg_connect(url: str, autocommit: bool = True):
    import psycopg

    return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)


def recreate_database(name: str) -> None:
    with pg_connect(f"{PG_SERVER}/postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with pg_connect(f"{PG_SERVER}/postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=10)


def flush_redis(url: str) -> None:
    client = redis_client(url)
    try:
        client.flushdb()
    finally:
        client.close()


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(p / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


# ---------------------------------------------------------------- processes


class Proc:
    """A ``revtain`` process started by us, in its own session, stopped by its pid only."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115  (closed in stop())
        self.proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def terminate(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 15.0) -> None:
        self.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # the session this process leads
            self.proc.wait(timeout=5)
        self._log.close()


def stop_all(procs: list[Proc]) -> None:
    for p in procs:  # SIGTERM to all first: a worker finishes its current job, then exits
        p.terminate()
    for p in procs:
        p.stop()


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all CPUs), from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(x) for x in fh.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def schedstat(pid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for a CPU) of one process, from the kernel."""
    try:
        with open(f"/proc/{pid}/schedstat") as fh:
            on_cpu, waiting, _slices = (int(x) for x in fh.read().split())
    except (OSError, ValueError):
        return 0.0, 0.0
    return on_cpu / 1e9, waiting / 1e9


EXITED = "exited processes (not ours)"


def pid_cpu(pid: int) -> float:
    """user+system CPU seconds of one process."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class CpuMeter:
    """CPU seconds used during the run, by who used them: the scheduler, each worker, the PostgreSQL
    backends of the bench database, Redis, and everything else on the machine (another job running
    at the same time skews the figures; it is reported). Processes that exited during the run are
    not in /proc at the end: the machine's busy time from /proc/stat minus what is accounted for is
    shown as such. For our own processes, the kernel's schedstat tells time on a CPU from time spent
    runnable but waiting for one (a busy machine) and, by difference, time blocked (I/O, sleeps)."""

    def __init__(self, procs: list[Proc], database: str) -> None:
        self.procs, self.database = procs, database
        self.start: dict[int, tuple[int, str, float]] = {}
        self.started_at = 0.0
        self.foreign: list[tuple[float, str]] = []
        self.machine_start = 0.0
        self.sched_start: dict[str, tuple[float, float]] = {}
        self.sched: dict[str, tuple[float, float]] = {}  # name -> (on CPU s, waiting for a CPU s)

    def _category(self, pid: int, ppid: int, comm: str, backends: dict[int, str]) -> str:
        if pid in backends:  # a PostgreSQL backend of the bench database, by its application_name
            return "postgres: scheduler's backend" if backends[pid] == "bench-scheduler" else (
                "postgres: workers' backends" if backends[pid].startswith("bench-worker")
                else "postgres (bench db)")
        for p in self.procs:
            if pid == p.pid:
                return p.name
        if pid == os.getpid():
            return "bench runner"
        if comm.startswith("postgres"):
            cmd = _cmdline(pid).split()
            if "autovacuum" in cmd and self.database in cmd:
                return "postgres autovacuum (bench db)"
            if self.database in cmd:
                return "postgres (bench db)"
            if any("(" in part for part in cmd) or "idle" in cmd or "local" in cmd:
                return "other processes"  # backends of other databases
            return "postgres (wal/checkpoint/other)"
        if comm == "redis-server" and "6379" in _cmdline(pid):
            return "redis"
        if ppid == 2 or pid == 2:
            return "kernel threads"
        return "other processes"

    def begin(self) -> None:
        self.start = proc_cpu()
        self.machine_start = machine_busy()
        self.sched_start = {p.name: schedstat(p.pid) for p in self.procs}
        self.started_at = time.monotonic()

    def end(self, backends: dict[int, str]) -> tuple[float, dict[str, float]]:
        elapsed = time.monotonic() - self.started_at
        used: dict[str, float] = {}
        foreign: list[tuple[float, str]] = []
        for pid, (ppid, comm, seconds) in proc_cpu().items():
            delta = seconds - (self.start[pid][2] if pid in self.start else 0.0)
            if delta > 0:
                category = self._category(pid, ppid, comm, backends)
                used[category] = used.get(category, 0.0) + delta
                if category == "other processes":
                    foreign.append((delta, f"{pid} {(_cmdline(pid) or comm)[:70]}"))
        self.foreign = sorted(foreign, reverse=True)[:4]
        unaccounted = machine_busy() - self.machine_start - sum(used.values())
        if unaccounted > 0.05 * elapsed:
            used[EXITED] = unaccounted
        for p in self.procs:
            (cpu0, wait0), (cpu1, wait1) = self.sched_start.get(p.name, (0.0, 0.0)), schedstat(p.pid)
            self.sched[p.name] = (cpu1 - cpu0, wait1 - wait0)
        return elapsed, used


# ---------------------------------------------------------------- setup


def onboard(env: dict[str, str]) -> str:
    out = subprocess.run([REVTAIN, "onboard", "--name", "Bench", "--json"], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=120)
    issued = json.loads(next(ln for ln in reversed(out.stdout.splitlines()) if ln.startswith("{")))
    return issued["clientId"]


def template_row(env: dict[str, str], database_url: str, client_id: str) -> dict:
    """The row Revtain's execute service writes for a queued recovery; deleted again."""
    out = subprocess.run([PYTHON, "-c", TEMPLATE_SCRIPT, client_id], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True, timeout=120)
    started = json.loads(next(ln for ln in reversed(out.stdout.splitlines()) if ln.startswith("{")))
    if started["kind"] != "queued":
        raise RuntimeError(f"the template recovery was not queued: {started}")
    with pg_connect(database_url) as conn:
        cur = conn.execute("SELECT * FROM recoveries WHERE id = %s", (started["id"],))
        names = [d.name for d in cur.description]
        row = dict(zip(names, cur.fetchone(), strict=True))
        for table in ("attempts", "webhook_events"):
            conn.execute(f"DELETE FROM {table} WHERE recovery_id = %s", (started["id"],))
        conn.execute("DELETE FROM recoveries WHERE id = %s", (started["id"],))
    if row["status"] != "queued" or row["attempt_count"] != 0:
        raise RuntimeError(f"unexpected template row: status {row['status']}, "
                           f"attempts {row['attempt_count']}")
    return row


def stage(database_url: str, template: dict, n: int, window: float, run_id: str, seed: int) -> list[str]:
    """COPY n variants of the template into ``bench_due``; returns the recovery columns staged."""
    from ulid import ULID

    rng = random.Random(seed)
    offsets = [window * k / n for k in range(n)]  # uniform over the window, in random row order
    rng.shuffle(offsets)
    now = datetime.now(UTC)
    created = sorted(now - timedelta(seconds=rng.uniform(60, 3 * 86400)) for _ in range(n))
    columns = [c for c in template if c != "next_attempt_at"]
    base = {c: json.dumps(v) if isinstance(v, dict | list) else v for c, v in template.items()}
    with pg_connect(database_url, autocommit=False) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_due")
        conn.execute("CREATE UNLOGGED TABLE bench_due (LIKE recoveries INCLUDING DEFAULTS)")
        conn.execute("ALTER TABLE bench_due ADD COLUMN due_offset double precision NOT NULL")
        names = ", ".join(f'"{c}"' for c in [*columns, "due_offset"])
        with conn.cursor() as cur, cur.copy(f"COPY bench_due ({names}) FROM STDIN") as copy:
            for i in range(n):
                at = created[i]
                naive = at.replace(tzinfo=None)
                row = dict(base)
                row.update(
                    id=str(ULID.from_datetime(at)),
                    idempotency_key=f"bench-{run_id}-{i}",
                    payment_method_token=f"pm_bench{run_id}_{i:07d}",  # one card per recovery
                    amount=rng.choice(AMOUNTS),
                    customer_email=f"customer{i}@example.com",
                    bin_prefix=rng.choice(BINS),
                    created_at=naive,
                    updated_at=naive,
                )
                copy.write_row([row[c] for c in columns] + [offsets[i]])
        conn.execute("ALTER TABLE bench_due ADD PRIMARY KEY (id)")
    return columns


def release(database_url: str, columns: list[str], lead: float) -> tuple[datetime, float, float]:
    """Insert the staged rows with ``next_attempt_at`` = T0 + offset, in one transaction.

    Returns T0 (naive UTC, as stored), the seconds it took, and the margin: how long before T0
    the rows were committed (negative: the first rows were already late when they appeared)."""
    t0 = (datetime.now(UTC) + timedelta(seconds=lead)).replace(tzinfo=None)
    names = ", ".join(f'"{c}"' for c in columns)
    started = time.monotonic()
    with pg_connect(database_url, autocommit=False) as conn:
        conn.execute(
            f'INSERT INTO recoveries ({names}, "next_attempt_at") '
            f"SELECT {names}, %(t0)s::timestamp + due_offset * interval '1 second' "
            "FROM bench_due ORDER BY created_at",
            {"t0": t0},
        )
        conn.execute("ANALYZE recoveries")  # as autovacuum would soon; plans see 100k rows
    committed = datetime.now(UTC).replace(tzinfo=None)
    return t0, time.monotonic() - started, (t0 - committed).total_seconds()


# ---------------------------------------------------------------- the run


def backend_names(database_url: str) -> dict[int, str]:
    """pid -> application_name of the bench database's backends (each process names its own)."""
    with contextlib.suppress(Exception), pg_connect(database_url) as conn:
        return dict(conn.execute(
            "SELECT pid, application_name FROM pg_stat_activity WHERE datname = current_database()"
        ).fetchall())
    return {}


ACTIVITY_SQL = """
SELECT application_name, state, coalesce(wait_event_type, ''), coalesce(wait_event, '')
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
"""


def activity_label(state: str | None, wait_type: str, wait_event: str) -> str:
    if state == "active":
        return f"active, waiting {wait_type}:{wait_event}" if wait_type else "active (running)"
    if state == "idle in transaction":
        return "idle in transaction (app busy mid-transaction)"
    if state == "idle":
        return "idle (app busy or waiting for work)"
    return state or "?"


@dataclass
class RunState:
    finished: bool = False
    aborted: str = ""
    wall_s: float = 0.0
    activity: dict[str, Counter] = field(default_factory=dict)
    activity_samples: int = 0
    # (s after T0, done, RQ queue length, machine busy CPU s, workers' CPU s)
    progress: list[tuple[float, int, int, float, float]] = field(default_factory=list)
    max_queue: int = 0
    redis_peak_mb: float = 0.0


def wait_until_ready(procs: list[Proc], redis_url: str, workers: int, deadline: float) -> None:
    scheduler = procs[0]
    client = redis_client(redis_url)
    try:
        while time.monotonic() < deadline:
            for p in procs:
                if not p.alive():
                    raise RuntimeError(f"{p.name} exited early; see {p.log_path}:\n{p.tail()}")
            started = "scheduler started" in scheduler.log_path.read_text(errors="replace")
            if started and client.scard("rq:workers") >= workers:
                return
            time.sleep(0.2)
    finally:
        client.close()
    raise RuntimeError("the scheduler and workers did not come up in time:\n"
                       + "\n".join(f"--- {p.name}\n{p.tail(10)}" for p in procs))


def wait_done(database_url: str, redis_url: str, procs: list[Proc], n: int, t0: datetime, deadline: float,
              redis_max_mb: float) -> RunState:
    state = RunState()
    began = time.monotonic()
    next_count = next_progress = began
    last_progress = (began, 0)
    last_change = (began, 0)  # when the number of finished recoveries last moved
    rq_redis = redis_client(redis_url)
    with pg_connect(database_url) as conn, contextlib.closing(rq_redis):
        while True:
            now = time.monotonic()
            if now >= deadline:
                state.aborted = f"time limit reached after {now - began:.0f} s of the run"
                break
            for p in procs:
                if not p.alive():
                    raise RuntimeError(f"{p.name} died during the run; see {p.log_path}:\n{p.tail()}")
            for app_name, st, wait_type, wait_event in conn.execute(ACTIVITY_SQL):
                role = "scheduler" if app_name == "bench-scheduler" else (
                    "workers" if app_name.startswith("bench-worker") else "other")
                state.activity.setdefault(role, Counter())[activity_label(st, wait_type, wait_event)] += 1
            state.activity_samples += 1
            if now >= next_count:
                next_count = now + 1.0
                queued = conn.execute("SELECT count(*) FROM recoveries WHERE status = 'queued'").fetchone()[0]
                done = n - queued
                since_t0 = (datetime.now(UTC).replace(tzinfo=None) - t0).total_seconds()
                queue_len = int(rq_redis.llen(f"rq:queue:{RECOVERY_QUEUE}"))
                redis_mb = int(rq_redis.info("memory")["used_memory"]) / 2**20
                workers_cpu = sum(pid_cpu(p.pid) for p in procs if p.name.startswith("worker"))
                state.progress.append((since_t0, done, queue_len, machine_busy(), workers_cpu))
                state.max_queue = max(state.max_queue, queue_len)
                state.redis_peak_mb = max(state.redis_peak_mb, redis_mb)
                if queued == 0:
                    state.finished = True
                    break
                if done != last_change[1]:
                    last_change = (now, done)
                elif since_t0 > STALL_S and now - last_change[0] > STALL_S:
                    state.aborted = (f"no recovery left 'queued' for {STALL_S:.0f} s; scheduler log:\n"
                                     f"{procs[0].tail(8)}")
                    break
                if redis_mb > redis_max_mb:  # a shared Redis: duplicated jobs must not exhaust it
                    state.aborted = f"Redis uses {redis_mb:.0f} MB (over --redis-max-mb {redis_max_mb:g})"
                    break
                if now >= next_progress:
                    rate = (done - last_progress[1]) / max(1e-9, now - last_progress[0])
                    log(f"T0{since_t0:+6.0f} s: {done:>7} of {n} left 'queued' ({rate:6.0f}/s over the last "
                        f"{now - last_progress[0]:.0f} s), {queue_len:>7} jobs in the RQ queue, Redis "
                        f"{redis_mb:.0f} MB; load average {loadavg()}")
                    last_progress = (now, done)
                    next_progress = now + 10.0
            time.sleep(0.5)
    state.wall_s = time.monotonic() - began
    return state


# ---------------------------------------------------------------- analysis


@dataclass
class Results:
    recoveries: int
    attempts: int = 0
    recoveries_attempted: int = 0
    multi_attempted: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    attempt_outcomes: dict[str, int] = field(default_factory=dict)
    never_ran: int = 0
    events: int = 0
    deliveries: int = 0
    lateness: dict[str, float] = field(default_factory=dict)
    rate_whole: float = 0.0
    rate_steady: float = 0.0
    steady_window_s: tuple[float, float] = (0.0, 0.0)
    last_attempt_s: float = 0.0
    timeline: list[dict] = field(default_factory=list)
    by_due: list[dict] = field(default_factory=list)
    jobs_ok: int = 0
    job_errors: int = 0
    failed_jobs: int = 0
    left_in_queue: int = 0
    enqueued: int = 0
    enqueue_ticks: int = 0
    max_enqueued_in_a_tick: int = 0


def analyse(database_url: str, t0: datetime, n: int, window: float) -> Results:
    res = Results(recoveries=n)
    with pg_connect(database_url) as conn:
        rows = conn.execute(
            "SELECT a.recovery_id, b.due_offset, extract(epoch FROM a.created_at - %(t0)s)::float8, "
            "a.outcome FROM attempts a JOIN bench_due b ON b.id = a.recovery_id",
            {"t0": t0},
        ).fetchall()
        res.statuses = dict(conn.execute(
            "SELECT r.status, count(*) FROM recoveries r JOIN bench_due b ON b.id = r.id "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall())
        res.never_ran = conn.execute(
            "SELECT count(*) FROM bench_due b "
            "WHERE NOT EXISTS (SELECT 1 FROM attempts a WHERE a.recovery_id = b.id)"
        ).fetchone()[0]
        res.events = conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0]
        res.deliveries = conn.execute("SELECT count(*) FROM webhook_deliveries").fetchone()[0]
    res.attempts = len(rows)
    res.attempt_outcomes = dict(Counter(r[3] for r in rows))
    first: dict[str, tuple[float, float]] = {}
    per_recovery: Counter = Counter()
    for recovery_id, due, at, _outcome in rows:
        per_recovery[recovery_id] += 1
        if recovery_id not in first or at < first[recovery_id][1]:
            first[recovery_id] = (due, at)
    res.recoveries_attempted = len(first)
    res.multi_attempted = sum(1 for c in per_recovery.values() if c > 1)
    if not rows:
        return res
    late = sorted(at - due for due, at in first.values())
    res.lateness = {"min": late[0], "p50": percentile(late, 50), "p90": percentile(late, 90),
                    "p99": percentile(late, 99), "max": late[-1], "mean": sum(late) / len(late)}
    times = sorted(r[2] for r in rows)
    res.last_attempt_s = times[-1]
    res.rate_whole = len(times) / max(times[-1], 1e-9)  # from T0, the first due time
    lo, hi = times[int(0.10 * (len(times) - 1))], times[int(0.90 * (len(times) - 1))]
    res.steady_window_s = (lo, hi)
    res.rate_steady = 0.8 * len(times) / (hi - lo) if hi > lo else float("nan")

    step = 10 if times[-1] <= 200 else 30 if times[-1] <= 600 else 60
    # The bench_due offsets cover every recovery, attempted or not.
    due_all = [window * k / n for k in range(n)]
    edge, i_due, i_done = 0.0, 0, 0
    while edge < times[-1] or not res.timeline:
        edge += step
        while i_due < n and due_all[i_due] < edge:
            i_due += 1
        start = i_done
        while i_done < len(times) and times[i_done] < edge:
            i_done += 1
        res.timeline.append({"until_s": edge, "due": i_due, "attempted": i_done,
                             "rate": (i_done - start) / step, "backlog": i_due - i_done})
        if len(res.timeline) > 200:
            break
    buckets: dict[int, list[float]] = {}
    for due, at in first.values():
        buckets.setdefault(int(due // 10), []).append(at - due)
    for key in sorted(buckets):
        values = sorted(buckets[key])
        res.by_due.append({"from_s": key * 10, "count": len(values), "p50": percentile(values, 50),
                           "p99": percentile(values, 99), "max": values[-1]})
    return res


def read_logs(res: Results, scheduler: Proc, workers: list[Proc], redis_url: str) -> None:
    pattern = re.compile(r"'recoveries': (\d+)")
    with contextlib.suppress(OSError):
        for line in scheduler.log_path.read_text(errors="replace").splitlines():
            m = pattern.search(line)
            if m and int(m.group(1)):
                count = int(m.group(1))
                res.enqueued += count
                res.enqueue_ticks += 1
                res.max_enqueued_in_a_tick = max(res.max_enqueued_in_a_tick, count)
    for w in workers:
        with contextlib.suppress(OSError), open(w.log_path, errors="replace") as fh:
            for line in fh:
                if "Job OK" in line:
                    res.jobs_ok += 1
                elif "Traceback" in line:
                    res.job_errors += 1
    client = redis_client(redis_url)
    try:
        res.failed_jobs = int(client.zcard(f"rq:failed:{RECOVERY_QUEUE}"))
        res.left_in_queue = int(client.llen(f"rq:queue:{RECOVERY_QUEUE}"))
    finally:
        client.close()


CPU_ORDER = ("scheduler", "postgres: scheduler's backend", "postgres: workers' backends",
             "postgres (bench db)", "postgres autovacuum (bench db)", "postgres (wal/checkpoint/other)",
             "redis", "bench runner", "kernel threads", "other processes", EXITED)


def print_report(args: argparse.Namespace, res: Results, run: RunState, t0_margin: float, insert_s: float,
                 cpu_elapsed: float, cpu: dict[str, float], meter: CpuMeter, load_before: str,
                 load_after: str, worker_names: list[str]) -> dict:
    n = res.recoveries
    version = revtain_version()
    arrival = n / args.window
    print()
    print(f"Scheduler + RQ workers -- {n:,} queued recoveries due uniformly over {args.window:g} s "
          f"(arrival {arrival:,.0f}/s); 1 scheduler (every {args.interval:g} s, batch "
          f"{args.batch_size or 'default 500'}, re-enqueue after {args.reenqueue_after or 'default 60'} s), "
          f"{args.workers} workers; PostgreSQL + Redis, test gateway; "
          f"{os.cpu_count()} CPUs; revtain at {version}")
    print(f"load average (1/5/15 min) before: {load_before}; after: {load_after}")
    print(f"rows inserted in {insert_s:.1f} s, committed {t0_margin:+.1f} s before the first due time T0")
    if run.aborted:
        print(f"ABORTED: {run.aborted} (--timeout {args.timeout:g} s); "
              f"{res.statuses.get('queued', 0):,} recoveries were still queued -- figures below are partial")
    print()
    width = 44
    lines = [
        ("attempts completed", f"{res.attempts:,}"),
        ("recoveries attempted / staged", f"{res.recoveries_attempted:,} / {n:,}"),
        ("recoveries never attempted", f"{res.never_ran:,}"),
        ("recoveries with more than one attempt", f"{res.multi_attempted:,}"),
        ("final status", ", ".join(f"{k} {v:,}" for k, v in res.statuses.items()) or "-"),
        ("attempt outcomes", ", ".join(f"{k} {v:,}" for k, v in res.attempt_outcomes.items()) or "-"),
        ("last attempt at", f"T0 + {res.last_attempt_s:.1f} s"),
        ("attempts/s, whole run (T0 -> last attempt)", f"{res.rate_whole:,.1f}"),
        ("attempts/s, steady (10th -> 90th pct attempt)",
         f"{res.rate_steady:,.1f}  (T0 + {res.steady_window_s[0]:.0f} .. {res.steady_window_s[1]:.0f} s)"),
    ]
    for label, value in lines:
        print(f"{label:<{width}}{value}")
    if res.lateness:
        lt = res.lateness
        print(f"{'lateness (attempt start - due), s':<{width}}p50 {lt['p50']:.2f}   p90 {lt['p90']:.2f}   "
              f"p99 {lt['p99']:.2f}   max {lt['max']:.2f}   (min {lt['min']:.3f}, mean {lt['mean']:.2f})")
        if lt["min"] < 0:
            print("  WARNING: an attempt started before its row was due")
    print(f"{'RQ jobs run (Job OK) / raised':<{width}}{res.jobs_ok:,} / {res.job_errors:,} "
          f"(failed registry {res.failed_jobs:,}; {res.left_in_queue:,} jobs left in the queue at stop)")
    print(f"{'scheduler: rows picked per its log':<{width}}{res.enqueued:,} in {res.enqueue_ticks:,} ticks, "
          f"at most {res.max_enqueued_in_a_tick:,} in one")
    jobs = res.jobs_ok + res.job_errors + res.left_in_queue
    print(f"{'jobs in Redis in all (run + left queued)':<{width}}{jobs:,} "
          f"({max(0, jobs - n):,} beyond one per recovery)")
    print(f"{'RQ queue length, max / Redis used, max':<{width}}{run.max_queue:,} jobs / "
          f"{run.redis_peak_mb:.0f} MB (sampled every second)")
    print(f"{'outbox events / deliveries written':<{width}}{res.events:,} / {res.deliveries:,}")

    if res.by_due:
        print()
        print("lateness by due time (s)")
        print(f"{'due at T0 +':<14}{'rows':>8}{'p50':>10}{'p99':>10}{'max':>10}")
        for b in res.by_due:
            span = f"{b['from_s']:>3}-{b['from_s'] + 10:<3} s"
            print(f"{span:<14}{b['count']:>8}{b['p50']:>10.2f}{b['p99']:>10.2f}{b['max']:>10.2f}")
    if res.timeline:
        print()
        print("timeline (cumulative; backlog = due but not yet attempted; RQ queue = jobs waiting in Redis; "
              "cores busy in the interval: whole machine / our workers)")
        print(f"{'until T0 +':<12}{'due':>9}{'attempted':>11}{'attempts/s':>12}{'backlog':>9}"
              f"{'RQ queue':>10}{'machine':>9}{'workers':>9}")
        step = res.timeline[0]["until_s"]
        for row in res.timeline:
            until = f"{row['until_s']:.0f} s"
            upto = [x for x in run.progress if x[0] <= row["until_s"]]
            before = [x for x in run.progress if x[0] <= row["until_s"] - step] or run.progress[:1]
            queue = f"{upto[-1][2]:,}" if upto else "-"
            machine = workers = "-"
            if upto and before and upto[-1][0] > before[-1][0]:
                span = upto[-1][0] - before[-1][0]
                machine = f"{(upto[-1][3] - before[-1][3]) / span:.2f}"
                workers = f"{(upto[-1][4] - before[-1][4]) / span:.2f}"
            print(f"{until:<12}{row['due']:>9}{row['attempted']:>11}{row['rate']:>12.1f}{row['backlog']:>9}"
                  f"{queue:>10}{machine:>9}{workers:>9}")

    if cpu:
        print()
        print(f"CPU from T0 to the last recovery leaving 'queued' ({cpu_elapsed:.0f} s, "
              f"{os.cpu_count()} CPUs): CPU s, cores busy, ms of CPU per attempt")
        attempts = max(res.attempts, 1)
        for category in (*worker_names, *CPU_ORDER):
            used = cpu.get(category, 0.0)
            if used >= 0.05 or category in worker_names or category == "scheduler":
                print(f"  {category:<34}{used:>9.1f}{used / cpu_elapsed:>8.2f}{used / attempts * 1000:>9.2f}")
        total = sum(cpu.values())
        print(f"  {'total':<34}{total:>9.1f}{total / cpu_elapsed:>8.2f}{total / attempts * 1000:>9.2f}")
        foreign_s = cpu.get("other processes", 0.0) + cpu.get(EXITED, 0.0)
        foreign = foreign_s / cpu_elapsed if cpu_elapsed else 0.0
        if meter.sched:
            print("  time of our processes over the run: on a CPU / runnable, waiting for a CPU / blocked "
                  "(PostgreSQL, Redis, sleep)")
            for name, (on_cpu, waiting) in meter.sched.items():
                blocked = max(0.0, cpu_elapsed - on_cpu - waiting)
                print(f"  {name:<34}{on_cpu / cpu_elapsed:>8.0%}{waiting / cpu_elapsed:>8.0%}"
                      f"{blocked / cpu_elapsed:>8.0%}")
        if foreign > FOREIGN_WARN_CORES:
            print(f"WARNING: other processes used {foreign:.2f} cores during the run; the figures are skewed "
                  "-- run again on an idle machine. Busiest:")
            for seconds, what in meter.foreign:
                print(f"    {seconds:7.1f} s  {what}")

    if run.activity_samples:
        print()
        print(f"PostgreSQL backends of the bench database, sampled every 0.5 s "
              f"({run.activity_samples} samples): mean number of backends in each state")
        for role in ("workers", "scheduler", "other"):
            counts = run.activity.get(role)
            if not counts:
                continue
            for label, count in counts.most_common(6):
                print(f"  {role:<10} {label:<52}{count / run.activity_samples:>6.2f}")
    return {
        "results": res.__dict__,
        "cpu_elapsed_s": cpu_elapsed,
        "cpu_seconds": cpu,
        "activity": {role: dict(c) for role, c in run.activity.items()},
        "activity_samples": run.activity_samples,
        "aborted": run.aborted,
        "insert_s": insert_s,
        "t0_margin_s": t0_margin,
        "load_before": load_before,
        "load_after": load_after,
        "revtain": version,
        "args": vars(args),
    }


# ---------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Revtain's scheduler and RQ workers against N queued recoveries due within a window."
    )
    parser.add_argument("--recoveries", type=int, default=100_000, help="queued recoveries (1-1,000,000)")
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which they fall due (1-600)")
    parser.add_argument("--workers", type=int, default=2, help="revtain worker processes (1-8)")
    parser.add_argument("--interval", type=float, default=0.2, help="REVTAIN_SCHEDULER_INTERVAL_SECONDS")
    parser.add_argument("--batch-size", type=int, help="REVTAIN_SCHEDULER_BATCH_SIZE (default: the app's)")
    parser.add_argument("--reenqueue-after", type=float,
                        help="REVTAIN_REENQUEUE_AFTER_SECONDS (default: the app's, 60)")
    parser.add_argument("--lead", type=float, default=5.0,
                        help="seconds from the insert to the first due time T0 (1-120)")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds for the whole run, set-up included (120-7200); aborts with a message")
    parser.add_argument("--database", default="revtain_sched_bench", help="PostgreSQL database to (re)create")
    parser.add_argument("--redis-db", type=int, default=14, help="Redis database number to use and flush")
    parser.add_argument("--redis-max-mb", type=float, default=4096.0,
                        help="abort when Redis uses more memory than this (it is shared), MB")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="REVTAIN_TEST_GATEWAY_LATENCY_MS: how long the test gateway takes to answer")
    parser.add_argument("--threads", type=int, help="REVTAIN_WORKER_THREADS: jobs a worker runs at once")
    parser.add_argument("--seed", type=int, default=1, help="seed of the staged data")
    parser.add_argument("--keep-db", action="store_true", help="keep the database after the run")
    parser.add_argument("--json", dest="json_out", help="also write the figures to this JSON file")
    args = parser.parse_args()
    if not 1 <= args.recoveries <= 1_000_000 or not 1 <= args.window <= 600:
        parser.error("--recoveries must be 1-1,000,000 and --window 1-600 seconds")
    if not 1 <= args.workers <= 8 or not 0.01 <= args.interval <= 60:
        parser.error("--workers must be 1-8 and --interval 0.01-60 seconds")
    if args.batch_size is not None and not 1 <= args.batch_size <= 100_000:
        parser.error("--batch-size must be 1-100,000")
    if args.reenqueue_after is not None and not 1 <= args.reenqueue_after <= 86400:
        parser.error("--reenqueue-after must be 1-86400 seconds")
    if not 1 <= args.lead <= 120 or not 120 <= args.timeout <= 7200:
        parser.error("--lead must be 1-120 and --timeout 120-7200 seconds")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.database) or args.database in PROTECTED_DATABASES:
        parser.error(f"--database must be a plain lowercase name other than {sorted(PROTECTED_DATABASES)}")
    if not 0 <= args.redis_db <= 14:
        parser.error("--redis-db must be 0-14 (15 belongs to the tests)")
    return args


def main() -> int:
    args = parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    deadline = time.monotonic() + args.timeout
    database_url = f"{PG_SERVER}/{args.database}"
    redis_url = f"{REDIS_SERVER}/{args.redis_db}"
    work = Path(tempfile.mkdtemp(prefix="revtain-sched-bench-"))
    env = {
        **os.environ,
        "REVTAIN_ENV": "production",
        "REVTAIN_DATABASE_URL": database_url,
        "REVTAIN_REDIS_URL": redis_url,
        "REVTAIN_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "REVTAIN_SECRET_KEY": secrets.token_urlsafe(32),
        "REVTAIN_INSTANCE_PATH": str(work / "instance"),
        "REVTAIN_SCHEDULER_INTERVAL_SECONDS": str(args.interval),
        "PYTHONUNBUFFERED": "1",
    }
    if args.batch_size:
        env["REVTAIN_SCHEDULER_BATCH_SIZE"] = str(args.batch_size)
    if args.reenqueue_after:
        env["REVTAIN_REENQUEUE_AFTER_SECONDS"] = str(args.reenqueue_after)
    env["REVTAIN_TEST_GATEWAY_LATENCY_MS"] = str(args.latency_ms)
    if args.threads:
        env["REVTAIN_WORKER_THREADS"] = str(args.threads)
    procs: list[Proc] = []
    results: dict = {}
    status = 0
    load_before = loadavg()
    try:
        log(f"(re)creating database {args.database}, flushing Redis db {args.redis_db}; "
            f"load average {load_before}")
        recreate_database(args.database)
        flush_redis(redis_url)
        log("running migrations")
        subprocess.run([REVTAIN, "db", "upgrade", "heads"], env=env, cwd=ROOT, check=True,
                       capture_output=True, timeout=120)  # every head, as tests/conftest.py does
        log("onboarding a test-gateway merchant (no webhook URL: events are written, nothing is delivered)")
        client_id = onboard(env)
        template = template_row(env, database_url, client_id)
        run_id = f"{int(time.time()) % 100000}{secrets.token_hex(2)}"
        log(f"staging {args.recoveries:,} queued recoveries (COPY into bench_due)")
        started = time.monotonic()
        columns = stage(database_url, template, args.recoveries, args.window, run_id, args.seed)
        log(f"staged in {time.monotonic() - started:.1f} s")

        # Each process names its PostgreSQL connections, so the activity samples can tell them apart.
        def proc_env(app_name: str) -> dict[str, str]:
            return {**env, "REVTAIN_DATABASE_URL": f"{database_url}?application_name={app_name}"}

        revtain = [PYTHON, "-m", "revtain"]
        procs.append(Proc("scheduler", [*revtain, "scheduler"], proc_env("bench-scheduler"), work))
        for i in range(1, args.workers + 1):
            procs.append(Proc(f"worker-{i}", [*revtain, "worker"], proc_env(f"bench-worker-{i}"), work))
        wait_until_ready(procs, redis_url, args.workers, min(deadline, time.monotonic() + 60))
        log(f"scheduler and {args.workers} workers are up; inserting the rows, first due in {args.lead:g} s")

        t0, insert_s, margin = release(database_url, columns, args.lead)
        log(f"inserted in {insert_s:.1f} s, {margin:+.1f} s before T0; waiting for every recovery to leave "
            f"'queued' (limit {max(0.0, deadline - TEARDOWN_RESERVE_S - time.monotonic()):.0f} s)")
        time.sleep(max(0.0, min(margin, args.lead)))  # measure from T0, when the first rows fall due
        meter = CpuMeter(procs, args.database)
        meter.begin()
        run = wait_done(database_url, redis_url, procs, args.recoveries, t0, deadline - TEARDOWN_RESERVE_S,
                        args.redis_max_mb)
        cpu_elapsed, cpu = meter.end(backend_names(database_url))
        load_after = loadavg()
        if run.aborted:
            log(f"ABORTED: {run.aborted}; stopping the processes and reporting what was done")
            status = 3
        else:
            log(f"every recovery left 'queued' {run.progress[-1][0]:.1f} s after T0; stopping the processes")
        stop_all(procs)
        res = analyse(database_url, t0, args.recoveries, args.window)
        read_logs(res, procs[0], procs[1:], redis_url)
        results = print_report(args, res, run, margin, insert_s, cpu_elapsed, cpu, meter, load_before,
                               load_after, [p.name for p in procs[1:]])
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        log(f"failed: {exc}")
        if isinstance(exc, subprocess.CalledProcessError):
            log(f"stdout: {exc.stdout}\nstderr: {exc.stderr}")
        status = 1
    except KeyboardInterrupt:
        log("interrupted")
        status = 130
    finally:
        stop_all(procs)
        with contextlib.suppress(Exception):
            flush_redis(redis_url)
        if not args.keep_db:
            with contextlib.suppress(Exception):
                drop_database(args.database)
        else:
            log(f"kept database {args.database} (table bench_due holds the due offsets)")
        shutil.rmtree(work, ignore_errors=True)
    if args.json_out and results:
        Path(args.json_out).write_text(json.dumps(results, indent=2, default=str))
    return status


if __name__ == "__main__":
    sys.exit(main())
