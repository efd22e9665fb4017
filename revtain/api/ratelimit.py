"""Per-key rate limits (contract 2.1: execute 60, paywall status 120, tokenize 10 a minute per API
key), with the documented 429 body, counted in Redis, and in the database while Redis is unreachable.

Policy when Redis is down: the documented limit is kept, not dropped and not made per process.
Each process counts in the database instead (one row per key and fixed window, shared by every
web process), so two gunicorn workers still accept 60 a minute between them, not 60 each. Execute
already needs the database, so this adds no new way to fail; refusing every execute (fail closed)
would turn a Redis outage into lost recoveries. After a Redis error, a process counts in the
database for ``REDIS_RETRY_SECONDS`` before it asks Redis again.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, current_app, jsonify
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..extensions import db, rate_limit_key
from ..models import RateLimitWindow

log = logging.getLogger(__name__)
REDIS_RETRY_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 1.0


def _per(seconds: int) -> str:
    return "minute" if seconds == 60 else f"{seconds} seconds"


def too_many(noun: str, item: RateLimitItem):
    seconds = item.get_expiry()
    response = jsonify(
        {
            "error": f"Too many {noun} requests. Rate limit: {item.amount} requests per "
            f"{_per(seconds)} per API key.",
            "retryAfter": f"{seconds} seconds",
        }
    )
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    return response


class _Counter:
    """Fixed windows in Redis; in the database while Redis does not answer."""

    def __init__(self, app: Flask) -> None:
        self.storage = storage_from_string(
            app.config["RATELIMIT_STORAGE_URI"],
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self.redis = FixedWindowRateLimiter(self.storage)
        self.redis_down_until = 0.0

    def hit(self, item: RateLimitItem, scope: str, key: str) -> bool:
        if time.monotonic() >= self.redis_down_until:
            try:
                return self.redis.hit(item, "revtain", scope, key)
            except self.storage.base_exceptions as exc:
                self.redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
                log.warning("rate limit counted in the database: Redis does not answer (%s)", exc)
        return self._hit_in_database(item, f"{scope}:{key}:{item.key_for()}")

    @staticmethod
    def _hit_in_database(item: RateLimitItem, key: str) -> bool:
        expiry = item.get_expiry()
        window = int(time.time()) // expiry * expiry
        insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
        table = RateLimitWindow.__table__
        upsert = (
            insert(table)
            .values(key=key[:200], window=window, hits=1)
            .on_conflict_do_update(index_elements=["key", "window"], set_={"hits": table.c.hits + 1})
            .returning(table.c.hits)
        )
        # Committed now, whatever the request does next. In the request's own session: on SQLite a
        # second connection would wait for the write lock that session holds.
        hits = db.session.execute(upsert).scalar_one()
        db.session.execute(delete(table).where(table.c.key == key[:200], table.c.window < window))
        db.session.commit()
        return hits <= item.amount


def _counter() -> _Counter:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    counter = app.extensions.get("revtain.rate_limits")
    if counter is None:
        counter = app.extensions["revtain.rate_limits"] = _Counter(app)
    return counter


@functools.lru_cache(maxsize=64)
def _parsed(limits: str) -> list[RateLimitItem]:
    """Parsed once per setting value, not on every request."""
    return parse_many(limits)


def per_key_limit(setting: str, noun: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The limit in config ``setting`` (e.g. "60 per minute"), per API key, with the documented 429
    body naming ``noun``. Apply under ``require_api_key``, so the limit counts per authenticated key."""

    scope = setting.removesuffix("_RATE_LIMIT").lower()

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            key = rate_limit_key()
            for item in _parsed(current_app.config[setting]):
                if not _counter().hit(item, scope, key):
                    return too_many(noun, item)
            return view(*args, **kwargs)

        return limited

    return decorate


def execute_limit() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return per_key_limit("EXECUTE_RATE_LIMIT", "recovery")


def paywall_limit() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return per_key_limit("PAYWALL_RATE_LIMIT", "paywall status")


def tokenize_limit() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return per_key_limit("TOKENIZE_RATE_LIMIT", "tokenize")
