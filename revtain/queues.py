"""RQ queues and enqueueing by job path, so services never import the job module.

A failed enqueue is only logged: the row it was for stays due in the database and the scheduler
enqueues it again, so Redis being down delays work but loses none.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis
from rq import Queue

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
SEND_CARD_EXPIRY_REMINDER = "revtain.jobs.send_card_expiry_reminder"


def queue(name: str) -> Queue:
    return Queue(name, connection=connection())


# One job id per row, so the scheduler can tell whether a row's job is still waiting in its queue.
_JOB_KIND = {DELIVER_WEBHOOK: "delivery", RUN_RECOVERY_RETRY: "recovery", SEND_DUNNING_MESSAGE: "message",
             PROCESS_CONNECTOR_EVENT: "connector-event", SEND_ALERT: "alert",
             SEND_CARD_EXPIRY_REMINDER: "card-expiry-reminder"}


def job_id(func: str, row_id: str) -> str:
    return f"{_JOB_KIND[func]}-{row_id}"


def _in_queue(q: Queue, func: str, ids: list[str]) -> set[str]:
    """The rows whose job id is in the queue's list: a worker will still pop those. A job's status
    is not asked: a worker killed after popping a job leaves it "queued" in no list for ever."""
    listed = set(q.connection.lrange(q.key, 0, -1))
    return {row_id for row_id in ids if job_id(func, row_id).encode() in listed}


def enqueue_many(queue_name: str, func: str, ids: Iterable[str], unless_in_queue: bool = False) -> int:
    """Enqueue a job per row; with ``unless_in_queue``, not for rows whose job still waits in the
    queue (the scheduler re-enqueues work that was lost, never work that is merely behind)."""
    ids = list(ids)
    if not ids:
        return 0
    q = queue(queue_name)
    try:
        if unless_in_queue:
            waiting = _in_queue(q, func, ids)
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


def enqueue_deliveries(delivery_ids: Iterable[str | None], unless_in_queue: bool = False) -> int:
    return enqueue_many(WEBHOOKS, DELIVER_WEBHOOK, [d for d in delivery_ids if d], unless_in_queue)


def enqueue_recovery_retries(recovery_ids: Iterable[str], unless_in_queue: bool = False) -> int:
    return enqueue_many(RECOVERIES, RUN_RECOVERY_RETRY, recovery_ids, unless_in_queue)


def enqueue_messages(message_ids: Iterable[str], unless_in_queue: bool = False) -> int:
    return enqueue_many(DUNNING, SEND_DUNNING_MESSAGE, message_ids, unless_in_queue)


def enqueue_connector_events(event_ids: Iterable[str], unless_in_queue: bool = False) -> int:
    return enqueue_many(CONNECTORS, PROCESS_CONNECTOR_EVENT, event_ids, unless_in_queue)


def enqueue_alerts(notification_ids: Iterable[str], unless_in_queue: bool = False) -> int:
    return enqueue_many(ALERTS, SEND_ALERT, notification_ids, unless_in_queue)
