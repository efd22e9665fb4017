"""The RQ worker: a non-forking worker that runs each job in a fresh app context.

Not forking per job keeps a worker fast (thousands of small jobs a second rather than tens);
each job still gets its own app context and database session.
"""

from __future__ import annotations

from flask import Flask
from rq import SimpleWorker

from .extensions import db
from .observability.jobs import observed
from .queues import ALL, queue
from .redis_conn import connection


class AppWorker(SimpleWorker):
    app: Flask
    _burst = False

    def work(self, burst: bool = False, *args, **kwargs) -> bool:  # type: ignore[override]
        self._burst = burst
        return super().work(burst, *args, **kwargs)

    def subscribe(self) -> None:
        """A burst run stops by itself once the queues are empty, so it needs no command channel
        (RQ's stop/shutdown commands); closing that channel costs each burst run a 1 s thread join."""
        if not self._burst:
            super().subscribe()

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
    worker.app = app
    return worker
