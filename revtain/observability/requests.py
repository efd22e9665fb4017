"""A request id per request (``X-Request-ID``: taken from the proxy when sane, else made here),
bound into every log line the request writes and echoed in the response, and one log line per
request. The line names the route pattern, never the raw path: card-update tokens live in paths."""

from __future__ import annotations

import re
import time
import uuid

from flask import Flask, Response, g, request
from structlog.contextvars import bind_contextvars, unbind_contextvars

from . import logs, metrics

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

log = logs.get("revtain.request")


def request_id() -> str:
    given = request.headers.get(HEADER, "")
    return given if _SANE.fullmatch(given) else uuid.uuid4().hex


def _start() -> None:
    g.revtain_started = time.perf_counter()
    g.request_id = request_id()
    bind_contextvars(request_id=g.request_id)


def _finish(response: Response) -> Response:
    started = g.pop("revtain_started", None)
    if started is None:
        return response
    seconds = time.perf_counter() - started
    endpoint = request.endpoint or "unmatched"
    metrics.REQUEST_SECONDS.labels(endpoint, request.method, str(response.status_code)).observe(seconds)
    response.headers[HEADER] = g.request_id
    if endpoint not in ("health.healthz", "health.readyz", "metrics.metrics_view", "static"):
        log.info("request", method=request.method,
                 route=request.url_rule.rule if request.url_rule else None, endpoint=endpoint,
                 status=response.status_code, duration_ms=round(seconds * 1000, 1))
    return response


def _clear(exc: BaseException | None) -> None:
    unbind_contextvars("request_id")


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_clear)
