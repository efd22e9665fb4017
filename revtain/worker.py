"""The RQ worker: a non-forking worker that runs each job in a fresh app context.

Not forking per job keeps a worker fast (thousands of small jobs a second rather than tens);
each job still gets its own app context and database session.

Most jobs wait on the network (a gateway answering in 300-800 ms, a merchant's webhook receiver),
so a worker runs up to ``WORKER_THREADS`` jobs at once, each in its own thread with its own app
context and database session (a bounded pool: the worker takes a job off its queue only when a
thread is free). Nothing about a job's safety changes: each job still claims its row with a
compare-and-set before acting, and gateway calls still carry the attempt's idempotency key. On
SQLite (one writer at a time) a worker runs one job at a time.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty

from .extensions import db
from .observability.jobs import observed
from .queues import ALL, queue
from .redis_conn import connection


class AppWorker(SimpleWorker):
    app: Flask
    _burst = False
    threads = 1
    _pool: ThreadPoolExecutor | None = None
    _free: threading.Semaphore
    _idle: threading.Condition
    _running = 0

    def work(self, burst: bool = False, *args, **kwargs) -> bool:  # type: ignore[override]
        self._burst = burst
        if self.threads > 1:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="revtain-job")
            self._free = threading.Semaphore(self.threads)
            self._idle = threading.Condition()
            self.death_penalty_class = TimerDeathPenalty  # SIGALRM works in the main thread only
        try:
            return super().work(burst, *args, **kwargs)
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def subscribe(self) -> None:
        """A burst run stops by itself once the queues are empty, so it needs no command channel
        (RQ's stop/shutdown commands); closing that channel costs each burst run a 1 s thread join."""
        if not self._burst:
            super().subscribe()

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):  # type: ignore[override]
        while True:
            if self._pool is not None:
                self._free.acquire()  # take a job only when a thread can run it
            result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
            if self._pool is None or result is not None:
                return result
            self._free.release()
            if not self._burst or not self._wait_until_idle():
                return None
            # A burst run ends only when nothing runs: a running job may still enqueue more work.

    def _wait_until_idle(self) -> bool:
        """Wait for the running jobs; True if there were any."""
        with self._idle:
            had_running = self._running > 0
            self._idle.wait_for(lambda: self._running == 0)
        return had_running

    def execute_job(self, job, queue):  # type: ignore[override]
        if self._pool is None:
            return super().execute_job(job, queue)
        execution = self.prepare_execution(job)
        with self._idle:
            self._running += 1
        self._pool.submit(self._run_in_thread, job, queue, execution)
        return None

    def _run_in_thread(self, job, queue, execution) -> None:
        try:
            self.perform_job(job, queue, execution)
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()
            self._free.release()

    def perform_job(self, job, queue, execution):  # type: ignore[override]
        with self.app.app_context(), observed(job) as outcome:  # metrics, ids in log lines
            try:
                outcome.ok = bool(super().perform_job(job, queue, execution))
                return outcome.ok
            finally:
                db.session.remove()


def make_worker(app: Flask, queue_names: tuple[str, ...] = ALL) -> AppWorker:
    with app.app_context():
        worker = AppWorker([queue(name) for name in queue_names], connection=connection())
        sqlite = db.engine.dialect.name == "sqlite"
    worker.app = app
    worker.threads = 1 if sqlite else max(1, int(app.config["WORKER_THREADS"]))
    return worker
