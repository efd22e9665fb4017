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
ALL = (WEBHOOKS, RECOVERIES, DUNNING)

DELIVER_WEBHOOK = "revtain.jobs.deliver_webhook"
RUN_RECOVERY_RETRY = "revtain.jobs.run_recovery_retry"
SEND_DUNNING_MESSAGE = "revtain.jobs.send_dunning_message"


def queue(name: str) -> Queue:
    return Queue(name, connection=connection())


def enqueue_many(queue_name: str, func: str, ids: Iterable[str]) -> int:
    ids = list(ids)
    if not ids:
        return 0
    q = queue(queue_name)
    try:
        q.enqueue_many([Queue.prepare_data(func, args=(row_id,), result_ttl=300) for row_id in ids])
    except redis.RedisError as exc:
        log.warning("could not enqueue %d %s jobs (the scheduler will retry): %s", len(ids), func, exc)
        return 0
    return len(ids)


def enqueue_deliveries(delivery_ids: Iterable[str | None]) -> int:
    return enqueue_many(WEBHOOKS, DELIVER_WEBHOOK, [d for d in delivery_ids if d])


def enqueue_recovery_retries(recovery_ids: Iterable[str]) -> int:
    return enqueue_many(RECOVERIES, RUN_RECOVERY_RETRY, recovery_ids)


def enqueue_messages(message_ids: Iterable[str]) -> int:
    return enqueue_many(DUNNING, SEND_DUNNING_MESSAGE, message_ids)
