"""Around each RQ job: its duration and result as metrics, and its ids in every log line it writes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from . import logs, metrics

log = logs.get("revtain.jobs")

# The row each job works on, named as the logs name it (revtain/queues.py's job paths).
ROW_ID_NAMES = {
    "revtain.jobs.run_recovery_retry": "recovery_id",
    "revtain.jobs.deliver_webhook": "delivery_id",
    "revtain.jobs.send_dunning_message": "message_id",
    "revtain.jobs.process_connector_event": "connector_event_id",
    "revtain.jobs.send_alert": "notification_id",
}


@dataclass
class Outcome:
    ok: bool = False


@contextmanager
def observed(job) -> Iterator[Outcome]:
    """Set ``.ok`` on the yielded outcome when the job succeeded."""
    name = job.func_name.rsplit(".", 1)[-1]
    context = {"job_id": job.id, "job": name}
    row_name = ROW_ID_NAMES.get(job.func_name)
    if row_name and job.args:
        context[row_name] = str(job.args[0])
    if job.meta.get("request_id"):
        context["request_id"] = job.meta["request_id"]
    outcome = Outcome()
    started = time.perf_counter()
    with logs.bound(**context):
        try:
            yield outcome
        finally:
            seconds = time.perf_counter() - started
            result = "ok" if outcome.ok else "failed"
            metrics.JOB_SECONDS.labels(name).observe(seconds)
            metrics.JOBS.labels(name, result).inc()
            log.info("job", result=result, duration_ms=round(seconds * 1000, 1))
