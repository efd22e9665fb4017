"""RQ queues and enqueueing by job path, so services never import the job module.

A failed enqueue is only logged: the row it was for stays due in the database and the scheduler
enqueues it again, so Redis being down delays work but loses none.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis
from rq import Queue
from rq.job import Job

from .redis_conn import connection

log = logging.getLogger(__name__)

WEBHOOKS = "webhooks"
RECOVERIES = "recoveries"
DUNNING = "dunning"
CONNECTORS = "connectors"
ALERTS = "alerts"
ALL = (WEBHOOKS, RECOVERIES, DUNNING, CONNECTORS, ALERTS)

DELIVER_WEBHOOK = "revtain.jobs.deliver_webhook"
RUN_RECOVERY_RETRY = "revtain.jobs.run_recovery_retry"
SEND_DUNNING_MESSAGE = "revtain.jobs.send_dunning_message"
PROCESS_CONNECTOR_EVENT = "revtain.jobs.process_connector_event"
SEND_ALERT = "revtain.jobs.send_alert"


def queue(name: str) -> Queue:
    return Queue(name, connection=connection())


# One job id per row, so the scheduler can tell whether a row's job is still waiting in Redis.
_JOB_KIND = {DELIVER_WEBHOOK: "delivery", RUN_RECOVERY_RETRY: "recovery", SEND_DUNNING_MESSAGE: "message",
             PROCESS_CONNECTOR_EVENT: "connector-event", SEND_ALERT: "alert"}
_WAITING = {b"queued", b"started", b"deferred", b"scheduled"}


def job_id(func: str, row_id: str) -> str:
    return f"{_JOB_KIND[func]}-{row_id}"


def _still_waiting(q: Queue, func: str, ids: list[str]) -> set[str]:
    pipe = q.connection.pipeline(transaction=False)
    for row_id in ids:
        pipe.hget(Job.key_for(job_id(func, row_id)), "status")
    return {row_id for row_id, status in zip(ids, pipe.execute(), strict=True) if status in _WAITING}


def enqueue_many(queue_name: str, func: str, ids: Iterable[str], skip_waiting: bool = False) -> int:
    """Enqueue a job per row; with ``skip_waiting``, not for rows whose job is still in Redis
    (the scheduler re-enqueues only work that was lost, never work that is merely queued)."""
    ids = list(ids)
    if not ids:
        return 0
    q = queue(queue_name)
    try:
        if skip_waiting:
            waiting = _still_waiting(q, func, ids)
            ids = [row_id for row_id in ids if row_id not in waiting]
        if ids:
            q.enqueue_many(
                [Queue.prepare_data(func, args=(row_id,), job_id=job_id(func, row_id), result_ttl=300)
                 for row_id in ids]
            )
    except redis.RedisError as exc:
        log.warning("could not enqueue %d %s jobs (the scheduler will retry): %s", len(ids), func, exc)
        return 0
    return len(ids)


def enqueue_deliveries(delivery_ids: Iterable[str | None], skip_waiting: bool = False) -> int:
    return enqueue_many(WEBHOOKS, DELIVER_WEBHOOK, [d for d in delivery_ids if d], skip_waiting)


def enqueue_recovery_retries(recovery_ids: Iterable[str], skip_waiting: bool = False) -> int:
    return enqueue_many(RECOVERIES, RUN_RECOVERY_RETRY, recovery_ids, skip_waiting)


def enqueue_messages(message_ids: Iterable[str], skip_waiting: bool = False) -> int:
    return enqueue_many(DUNNING, SEND_DUNNING_MESSAGE, message_ids, skip_waiting)


def enqueue_connector_events(event_ids: Iterable[str], skip_waiting: bool = False) -> int:
    return enqueue_many(CONNECTORS, PROCESS_CONNECTOR_EVENT, event_ids, skip_waiting)


def enqueue_alerts(notification_ids: Iterable[str], skip_waiting: bool = False) -> int:
    return enqueue_many(ALERTS, SEND_ALERT, notification_ids, skip_waiting)
