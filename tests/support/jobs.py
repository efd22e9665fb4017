"""Running the real RQ worker and scheduler in-process, in burst mode."""

from __future__ import annotations

from revtain.scheduler import tick
from revtain.worker import make_worker


def run_jobs(app) -> None:
    """Work every queued job, then return (a real SimpleWorker on the real Redis)."""
    make_worker(app).work(burst=True, logging_level="WARNING")


def sweep(app) -> dict[str, int]:
    """One scheduler tick, then work what it enqueued."""
    with app.app_context():
        counts = tick()
    run_jobs(app)
    return counts
