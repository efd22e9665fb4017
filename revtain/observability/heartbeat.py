"""The scheduler's heartbeat: a Redis key it writes each tick, which ``/readyz`` reads.

A scheduler that stopped ticking leaves due retries and webhooks unsent while everything else
looks healthy; its heartbeat's age is what tells.
"""

from __future__ import annotations

import logging
import time

import redis

from ..redis_conn import connection

KEY = "revtain:scheduler:heartbeat"

log = logging.getLogger(__name__)


def beat() -> None:
    """Record that the scheduler is ticking now. Redis down only costs the heartbeat."""
    try:
        connection().set(KEY, repr(time.time()), ex=24 * 3600)
    except redis.RedisError as exc:
        log.warning("scheduler heartbeat not written: %s", exc)


def age_seconds() -> float | None:
    """Seconds since the last beat; None when no scheduler has ever beaten (or the key expired)."""
    raw = connection().get(KEY)
    if raw is None:
        return None
    return max(0.0, time.time() - float(raw))
