"""Benchmark ``POST /api/recovery/execute`` (test gateway, success path) against a minimal Flask +
Flask-SQLAlchemy endpoint that inserts one row, both under gunicorn (2 sync workers) on the same
PostgreSQL, at 32 concurrent connections. See ``bench/README.md``.

    .venv/bin/python bench/execute_vs_baseline.py [--duration 15] [--connections 32]

What it does, every run:

1. drops and re-creates the database ``revtain_bench`` (never the tests' ``test``) and flushes
   Redis db 14;
2. runs Revtain's migrations and onboards a test-gateway merchant whose webhook URL is a tiny
   local sink (so each success writes an outbox event + delivery and enqueues an RQ job; no
   worker runs, so the sink only has to exist);
3. starts Revtain and ``bench/baseline_app.py`` under gunicorn on 127.0.0.1, with the execute
   rate limit raised to 1,000,000 per minute (the limiter stays active);
4. for each: a sanity request, a warm-up, then a fixed-duration closed-loop load with wrk (a Lua
   script gives every request a unique ``paymentMethodToken`` and ``idempotencyKey``), or with
   ``bench/loadgen.py`` when wrk is not installed;
5. prints rps, p50, p99 and errors (any answer other than 200, plus socket errors) for both,
   the throughput ratio, and whether the goals are met; then stops the servers, drops the
   database and flushes Redis db 14 (``--keep-db`` keeps the database for inspection).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from common import (
    BENCH_DIR,
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

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
REDIS_SERVER = "redis://127.0.0.1:6379"
EXECUTE_PATH = "/api/recovery/execute"
BASELINE_PATH = "/insert"

GOAL_RATIO = 0.5
GOAL_P99_MS = 50.0

# wrk: a unique token and idempotency key per request; non-200 answers counted per status.
WRK_SCRIPT = r"""
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function init(args)
  prefix = (args[1] or "run") .. "t" .. tostring(tid)
  counter = 0
  non200 = 0
  statuses = {}
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if args[2] and args[2] ~= "" then
    wrk.headers["X-API-KEY"] = args[2]
  end
end

function request()
  counter = counter + 1
  local token = "pm_" .. prefix .. "_" .. counter
  local body = '{"paymentMethodToken":"' .. token .. '","amount":5000,"currency":"USD",'
    .. '"originalDeclineCode":"do_not_honor","idempotencyKey":"' .. token .. '"}'
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local non200_total = 0
  local parts = {}
  local merged = {}
  for _, thread in ipairs(threads) do
    non200_total = non200_total + (thread:get("non200") or 0)
    local st = thread:get("statuses") or {}
    for k, v in pairs(st) do
      merged[k] = (merged[k] or 0) + v
    end
  end
  for k, v in pairs(merged) do
    table.insert(parts, '"' .. k .. '":' .. v)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
    .. '"max_us":%d,"mean_us":%.1f,"non200":%d,"statuses":{%s},'
    .. '"connect":%d,"read":%d,"write":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, non200_total, table.concat(parts, ","),
    e.connect, e.read, e.write, e.timeout))
end
"""


@dataclass
class Figures:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non200: int
    socket_errors: int
    statuses: dict[str, int] = field(default_factory=dict)
    p90_ms: float | None = None
    max_ms: float | None = None
    cpu_elapsed: float = 0.0
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return self.non200 + self.socket_errors


# ---------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + url.removeprefix("postgresql://")


def recreate_database(name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(sqlalchemy_url(f"{PG_SERVER}/postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()


def drop_database(name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(sqlalchemy_url(f"{PG_SERVER}/postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def query(database_url: str, sql: str) -> list[tuple]:
    import sqlalchemy as sa

    engine = sa.create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.exec_driver_sql(sql)]
    finally:
        engine.dispose()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class _Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def webhook_sink() -> Iterator[str]:
    server = ThreadingHTTPServer((HOST, 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/hooks/revtain"
    finally:
        server.shutdown()
        server.server_close()


class Server:
    """A gunicorn master started by us, stopped by its pid (and its own session) only."""

    def __init__(self, name: str, app: str, port: int, env: dict[str, str], workers: int,
                 log_dir: Path, pythonpath: Path | None = None) -> None:
        self.name, self.port = name, port
        args = [PYTHON, "-m", "gunicorn", "-w", str(workers), "-b", f"{HOST}:{port}",
                "--chdir", str(ROOT)]
        if pythonpath:
            args += ["--pythonpath", str(pythonpath)]
        args.append(app)
        self.log_path = log_dir / f"{name}.gunicorn.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115  (closed in stop())
        self.proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer /healthz within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the session this master leads
                self.proc.wait(timeout=5)
        self._log.close()


class CpuMeter:
    """CPU seconds used during a phase, by who used them: the server under load, the PostgreSQL
    backends of the bench database, Redis, the load generator, and everything else on the
    machine (another job running at the same time skews the figures; it is reported)."""

    def __init__(self, servers: list[Server], database: str, python_loadgen: bool = False) -> None:
        self.servers, self.database = servers, database
        self.self_label = "load generator" if python_loadgen else "bench runner"
        self.start: dict[int, tuple[int, str, float]] = {}
        self.children = 0.0
        self.started_at = 0.0

    def _category(self, pid: int, ppid: int, comm: str) -> str:
        for server in self.servers:
            if server.proc.pid in (pid, ppid):
                return f"{server.name} gunicorn"
        if pid == os.getpid():
            return self.self_label
        if ppid == os.getpid() and comm == "wrk":
            return "load generator"
        if comm.startswith("postgres"):
            cmd = _cmdline(pid)
            if f" {self.database} " in cmd:
                return "postgres (bench db)"
            if " postgres " in cmd or " test " in cmd or "(" in cmd:
                return "other processes"  # backends of other databases
            return "postgres (wal/checkpoint)"
        if comm == "redis-server" and "6379" in _cmdline(pid):
            return "redis"
        if ppid == 2 or pid == 2:
            return "kernel threads"
        return "other processes"

    def begin(self) -> None:
        self.start = proc_cpu()
        self.children = _children_cpu()
        self.started_at = time.monotonic()

    def end(self) -> tuple[float, dict[str, float]]:
        elapsed = time.monotonic() - self.started_at
        used: dict[str, float] = {}
        for pid, (ppid, comm, seconds) in proc_cpu().items():
            delta = seconds - (self.start[pid][2] if pid in self.start else 0.0)
            if delta > 0:
                category = self._category(pid, ppid, comm)
                used[category] = used.get(category, 0.0) + delta
        waited = _children_cpu() - self.children  # wrk, which has exited by now
        if waited > 0:
            used["load generator"] = used.get("load generator", 0.0) + waited
        return elapsed, used


def post_json(url: str, body: dict, headers: dict[str, str]) -> tuple[int, dict[str, str], dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"{}")


# ---------------------------------------------------------------- load


def run_wrk(wrk: str, script: Path, url: str, api_key: str, prefix: str, connections: int,
            threads: int, duration: int) -> Figures:
    args = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
            "-s", str(script), url, "--", prefix, api_key]
    out = subprocess.run(args, capture_output=True, text=True, timeout=duration + 60, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = data["duration_us"] / 1e6
    return Figures(
        name="",
        rps=data["requests"] / seconds,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        requests=data["requests"],
        non200=data["non200"],
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        statuses=data["statuses"],
    )


def run_python_loadgen(url: str, api_key: str, prefix: str, connections: int, duration: int) -> Figures:
    sys.path.insert(0, str(BENCH_DIR))
    import loadgen

    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["X-API-KEY"] = api_key
    parts = urlsplit(url)
    result = loadgen.run(HOST, parts.port or 80, parts.path, headers, loadgen.execute_body_factory(prefix),
                         connections=connections, duration=duration)
    return Figures(
        name="",
        rps=result.rps,
        p50_ms=result.percentile(50) * 1000,
        p99_ms=result.percentile(99) * 1000,
        p90_ms=result.percentile(90) * 1000,
        max_ms=max(result.latencies, default=0) * 1000,
        requests=result.requests,
        non200=result.non_200,
        socket_errors=result.socket_errors,
        statuses={str(k): v for k, v in result.statuses.items() if k != 200},
    )


# ---------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="POST /api/recovery/execute vs a minimal Flask insert, under gunicorn on PostgreSQL."
    )
    parser.add_argument("--duration", type=int, default=15, help="seconds of measured load (1-120)")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up load (0-60)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (1-256)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per app (1-8)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (1-8)")
    parser.add_argument("--database", default="revtain_bench", help="PostgreSQL database to (re)create")
    parser.add_argument("--redis-db", type=int, default=14, help="Redis database number to use and flush")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--merchants", type=int, default=1,
                        help="fill the database first (bench/seed_scale.py): this many merchants")
    parser.add_argument("--attempts", type=int, default=0, help="... this many finished attempts")
    parser.add_argument("--backlog", type=int, default=0, help="... and this many queued retries")
    parser.add_argument("--keep-db", action="store_true", help="keep the database after the run")
    parser.add_argument("--json", dest="json_out", help="also write the figures to this JSON file")
    args = parser.parse_args()
    if not 1 <= args.duration <= 120 or not 0 <= args.warmup <= 60:
        parser.error("--duration must be 1-120 and --warmup 0-60 seconds")
    if not 1 <= args.connections <= 256 or not 1 <= args.workers <= 8 or not 1 <= args.wrk_threads <= 8:
        parser.error("--connections must be 1-256, --workers and --wrk-threads 1-8")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.database) or args.database in PROTECTED_DATABASES:
        parser.error(f"--database must be a plain lowercase name other than {sorted(PROTECTED_DATABASES)}")
    if not 0 <= args.redis_db <= 14:
        parser.error("--redis-db must be 0-14 (15 belongs to the tests)")
    return args


CPU_ORDER = ("execute gunicorn", "baseline gunicorn", "postgres (bench db)", "postgres (wal/checkpoint)",
             "redis", "load generator", "kernel threads", "bench runner", "other processes")


def print_cpu(execute: Figures, baseline: Figures) -> None:
    """Where the CPU went during each measured phase: ms of CPU per request, and cores used."""
    if not execute.cpu_seconds and not baseline.cpu_seconds:
        return
    print()
    print(f"CPU during the measured phases ({os.cpu_count()} CPUs): ms of CPU per request (cores busy)")
    print(f"{'':<28}{'execute':>20}{'baseline':>20}")
    for category in CPU_ORDER:
        cells = []
        for f in (execute, baseline):
            used = f.cpu_seconds.get(category, 0.0)
            per_request = used / f.requests * 1000 if f.requests else 0.0
            cores = used / f.cpu_elapsed if f.cpu_elapsed else 0.0
            cells.append(f"{per_request:8.2f} ({cores:4.2f})")
        if any(f.cpu_seconds.get(category, 0.0) >= 0.05 for f in (execute, baseline)):
            print(f"{category:<28}{cells[0]:>20}{cells[1]:>20}")
    for f in (execute, baseline):
        foreign = f.cpu_seconds.get("other processes", 0.0) / f.cpu_elapsed if f.cpu_elapsed else 0.0
        if foreign > FOREIGN_WARN_CORES:
            print(f"WARNING: other processes used {foreign:.2f} cores during the {f.name} phase; "
                  f"the figures are skewed -- run again on an idle machine")


def print_table(execute: Figures, baseline: Figures, connections: int, workers: int, loadgen: str,
                duration: int) -> dict:
    ratio = execute.rps / baseline.rps if baseline.rps else 0.0
    version = revtain_version()
    print()
    print(f"POST /api/recovery/execute vs minimal Flask insert -- gunicorn -w {workers} (sync), "
          f"PostgreSQL + Redis, {connections} connections, {duration} s, load by {loadgen}, "
          f"{os.cpu_count()} CPUs; revtain at {version}")
    print()
    header = f"{'endpoint':<30}{'rps':>10}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'max ms':>10}" \
             f"{'requests':>10}{'errors':>8}"
    print(header)
    print("-" * len(header))
    for label, f in (("execute  " + EXECUTE_PATH, execute), ("baseline POST " + BASELINE_PATH, baseline)):
        print(f"{label:<30}{f.rps:>10.1f}{f.p50_ms:>10.2f}{(f.p90_ms or 0):>10.2f}{f.p99_ms:>10.2f}"
              f"{(f.max_ms or 0):>10.1f}{f.requests:>10}{f.errors:>8}")
    print()
    for f in (execute, baseline):
        if f.errors:
            print(f"  {f.name} errors: non-200 {f.non200} {f.statuses or ''}, socket {f.socket_errors}")
    ratio_ok = ratio >= GOAL_RATIO
    p99_ok = execute.p99_ms < GOAL_P99_MS
    print(f"throughput ratio execute/baseline: {ratio:.3f}")
    print(f"goal: ratio >= {GOAL_RATIO}          -> {'MET' if ratio_ok else 'NOT MET'}")
    print(f"goal: execute p99 < {GOAL_P99_MS:.0f} ms      -> {'MET' if p99_ok else 'NOT MET'} "
          f"({execute.p99_ms:.1f} ms)")
    if not p99_ok:
        # Closed loop: mean latency = connections / throughput (Little's law).
        needed = connections / (GOAL_P99_MS / 1000)
        print(f"  note: with {connections} connections in a closed loop, mean latency = "
              f"{connections}/rps, so p99 < {GOAL_P99_MS:.0f} ms needs more than ~{needed:.0f} rps")
    errors_ok = execute.errors == 0 and baseline.errors == 0
    print(f"errors: {'none' if errors_ok else 'SOME (see above)'}")
    print_cpu(execute, baseline)
    return {
        "execute": execute.__dict__ | {"errors": execute.errors},
        "baseline": baseline.__dict__ | {"errors": baseline.errors},
        "ratio": ratio,
        "goal_ratio_met": ratio_ok,
        "goal_p99_met": p99_ok,
        "connections": connections,
        "workers": workers,
        "duration_s": duration,
        "loadgen": loadgen,
        "revtain": version,
    }


def main() -> int:
    args = parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    wrk = shutil.which("wrk")
    if args.loadgen == "wrk" and not wrk:
        log("wrk is not installed (Debian: apt-get install -y wrk)")
        return 2
    use_wrk = bool(wrk) and args.loadgen != "python"
    loadgen_name = "wrk" if use_wrk else "bench/loadgen.py (asyncio; shares the CPUs with the servers)"

    database_url = f"{PG_SERVER}/{args.database}"
    redis_url = f"{REDIS_SERVER}/{args.redis_db}"
    work = Path(tempfile.mkdtemp(prefix="revtain-bench-"))
    script = work / "execute.lua"
    script.write_text(WRK_SCRIPT)
    env = {
        **os.environ,
        "REVTAIN_DATABASE_URL": database_url,
        "REVTAIN_REDIS_URL": redis_url,
        "REVTAIN_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "REVTAIN_SECRET_KEY": secrets.token_urlsafe(32),
        "REVTAIN_INSTANCE_PATH": str(work / "instance"),
        "REVTAIN_EXECUTE_RATE_LIMIT": "1000000 per minute",
        "BENCH_BASELINE_DATABASE_URL": database_url,
    }
    env.pop("REVTAIN_ENV", None)
    servers: list[Server] = []
    results: dict = {}
    try:
        log(f"(re)creating database {args.database}, flushing Redis db {args.redis_db}")
        recreate_database(args.database)
        flush_redis(redis_url)
        log("running migrations")
        subprocess.run([REVTAIN, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True,
                       timeout=120)
        with webhook_sink() as sink_url:
            log(f"onboarding a test-gateway merchant (webhooks to {sink_url})")
            out = subprocess.run(
                [REVTAIN, "onboard", "--name", "Bench", "--webhook-url", sink_url, "--json"],
                env=env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=60,
            )
            issued = json.loads(next(ln for ln in reversed(out.stdout.splitlines()) if ln.startswith("{")))
            api_key = issued["apiKey"]
            if args.merchants > 1 or args.attempts or args.backlog:
                from seed_scale import seed

                log(f"seeding {args.merchants} merchants, {args.attempts} attempts, backlog {args.backlog}")
                seed(database_url, args.merchants, args.attempts, args.backlog, log=log)

            execute = Server("execute", "revtain:create_app()", free_port(), env, args.workers, work)
            servers.append(execute)
            baseline = Server("baseline", "baseline_app:create_app()", free_port(), env, args.workers, work,
                              pythonpath=BENCH_DIR)
            servers.append(baseline)
            for server in servers:
                server.wait_ready()

            # Sanity: the success path, the limiter active, and the baseline answering.
            status, _headers, body = post_json(
                execute.base_url + EXECUTE_PATH,
                {"paymentMethodToken": "pm_sanity", "amount": 5000, "currency": "USD",
                 "originalDeclineCode": "do_not_honor", "idempotencyKey": "sanity"},
                {"X-API-KEY": api_key},
            )
            if status != 200 or body.get("message") != "Revenue Recovered":
                raise RuntimeError(f"execute sanity request answered {status} {body}")
            # The limiter sends no X-RateLimit-* headers (they cost Redis round trips); its
            # counter for the bench key must exist in Redis.
            import redis

            limiter_redis = redis.Redis.from_url(f"{REDIS_SERVER}/{args.redis_db}")
            limiter_keys = limiter_redis.keys("LIMITS:LIMITER/revtain/*")
            if not limiter_keys:
                raise RuntimeError("the execute rate limiter is not active (no counter in Redis)")
            status, _, body = post_json(baseline.base_url + BASELINE_PATH,
                                        {"paymentMethodToken": "pm_sanity", "amount": 5000}, {})
            if status != 200:
                raise RuntimeError(f"baseline sanity request answered {status} {body}")
            log("sanity requests OK (execute 200 'Revenue Recovered', rate-limit counter in Redis)")

            run_id = f"{int(time.time())}{secrets.token_hex(2)}"
            meter = CpuMeter(servers, args.database, python_loadgen=not use_wrk)
            figures: dict[str, Figures] = {}
            for name, server, path, key in (("baseline", baseline, BASELINE_PATH, ""),
                                            ("execute", execute, EXECUTE_PATH, api_key)):
                url = server.base_url + path
                for phase, seconds in (("warmup", args.warmup), ("measure", args.duration)):
                    if seconds == 0:
                        continue
                    log(f"{name}: {phase} {seconds} s at {args.connections} connections")
                    prefix = f"{run_id}{name[0]}{phase[0]}"
                    meter.begin()
                    if use_wrk:
                        assert wrk is not None
                        f = run_wrk(wrk, script, url, key, prefix, args.connections, args.wrk_threads,
                                    seconds)
                    else:
                        f = run_python_loadgen(url, key, prefix, args.connections, seconds)
                    f.name = name
                    f.cpu_elapsed, f.cpu_seconds = meter.end()
                    if phase == "measure":
                        figures[name] = f
                time.sleep(1)

            counts = query(database_url, "SELECT status, count(*) FROM recoveries GROUP BY status ORDER BY 1")
            pending = query(database_url, "SELECT count(*) FROM webhook_deliveries")[0][0]
            log(f"recoveries by status: {dict(counts)}; webhook deliveries written: {pending}")
            results = print_table(figures["execute"], figures["baseline"], args.connections, args.workers,
                                  loadgen_name, args.duration)
            for server in servers:
                if server.proc.poll() is not None:
                    log(f"{server.name} died during the run:\n{server.tail()}")
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        log(f"failed: {exc}")
        if isinstance(exc, subprocess.CalledProcessError):
            log(f"stdout: {exc.stdout}\nstderr: {exc.stderr}")
        return 1
    finally:
        for server in servers:
            server.stop()
        with contextlib.suppress(Exception):
            flush_redis(redis_url)
        if not args.keep_db:
            with contextlib.suppress(Exception):
                drop_database(args.database)
        shutil.rmtree(work, ignore_errors=True)
    if args.json_out and results:
        Path(args.json_out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
