"""No noisy neighbours: a client's webhook deliveries in flight are limited across all workers.

Each delivery holds a slot while it talks to the receiver: a member of a sorted set per client in
Redis, scored by when it started. Over ``WEBHOOK_MAX_IN_FLIGHT_PER_CLIENT`` slots, the delivery
is not tried now: it is due again a little later, without counting a try, and its thread is free
for other clients at once. The wait is about as long as the oldest slot has been held (a receiver
answering in 200 ms: a fraction of a second; one hanging until the timeout: some seconds), times
the turns the deliveries already waiting need, so a hanging endpoint's backlog does not spin
through the queues. A slot whose worker died expires
after the delivery timeout. With Redis unreachable there is no limit (deliveries go on).
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import redis
from flask import current_app

from ..redis_conn import connection

log = logging.getLogger(__name__)
MIN_WAIT_SECONDS = 0.2


@dataclass
class Slot:
    granted: bool
    wait_seconds: float = 0.0  # when not granted: how long to wait before trying again


def _key(client_id: str) -> str:
    return f"revtain:webhook-in-flight:{client_id}"


def _waiting(conn: redis.Redis, client_id: str, now: float, timeout: float) -> int:
    """How many of the client's deliveries already wait for a slot (this one now among them), so
    a backlog is spread over the turns it needs instead of every delivery coming back at once."""
    key = f"revtain:webhook-waiting:{client_id}"
    try:
        with conn.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zadd(key, {uuid.uuid4().hex: now + timeout})
            pipe.zcard(key)
            pipe.expire(key, int(timeout) + 60)
            return int(pipe.execute()[2]) - 1
    except redis.RedisError:
        return 0


@contextlib.contextmanager
def slot(client_id: str) -> Iterator[Slot]:
    limit = int(current_app.config["WEBHOOK_MAX_IN_FLIGHT_PER_CLIENT"] or 0)
    timeout = float(current_app.config["WEBHOOK_TIMEOUT"])
    if limit <= 0:
        yield Slot(True)
        return
    key, member, started = _key(client_id), uuid.uuid4().hex, time.time()
    conn = connection()
    try:
        with conn.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", started - timeout - 30)  # slots of dead workers
            pipe.zadd(key, {member: started})
            pipe.zrank(key, member)
            pipe.zrange(key, 0, 0, withscores=True)
            pipe.expire(key, int(timeout) + 60)
            _, _, rank, oldest, _ = pipe.execute()
    except redis.RedisError as exc:
        log.warning("webhook in-flight limit not applied (Redis: %s)", exc)
        yield Slot(True)
        return
    try:
        if rank is not None and rank < limit:
            yield Slot(True)
        else:
            held = started - oldest[0][1] if oldest else 0.0
            turn = min(max(held, MIN_WAIT_SECONDS), timeout)
            turns = 1 + _waiting(conn, client_id, started, timeout) // limit
            wait = turn * turns * random.uniform(0.5, 1.5)
            yield Slot(False, wait)
    finally:
        with contextlib.suppress(redis.RedisError):  # else it expires with the key
            conn.zrem(key, member)
