"""Prometheus metrics, with the official ``prometheus_client``.

Web, worker and scheduler processes each count what they do. With ``PROMETHEUS_MULTIPROC_DIR``
set (the Procfile, the systemd units and ``revtain dev`` set it, and wipe it at start), every
process writes its samples to files there and ``/metrics`` adds them up (multiprocess mode);
without it, ``/metrics`` shows the answering process only. Queue depths and due-row lateness are
read from Redis and the database when scraped, so they are right whichever process answers.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator

from flask import Blueprint, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..config import is_production

RECOVERIES = Counter(
    "revtain_recoveries_finished_total",
    "Recoveries that reached a final state, by outcome and the original decline's family.",
    ["outcome", "decline_family"],
)
ATTEMPTS = Counter(
    "revtain_attempts_total", "Charges sent to a gateway, by gateway and outcome.", ["gateway", "outcome"]
)
RECOVERED_AMOUNT = Counter(
    "revtain_recovered_amount_minor_total",
    "Money recovered, in the currency's minor units (cents), by currency.",
    ["currency"],
)
WEBHOOK_DELIVERED = Counter(
    "revtain_webhook_deliveries_delivered_total", "Webhook deliveries the merchant acknowledged."
)
WEBHOOK_FAILED_TRIES = Counter(
    "revtain_webhook_failed_tries_total",
    "Webhook tries that failed, by the delivery's state after the try (pending: tried again later; "
    "failed: given up).",
    ["state"],
)
WEBHOOK_LAG = Histogram(
    "revtain_webhook_delivery_lag_seconds",
    "From the event's creation to the merchant's acknowledgement.",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 43200, 86400),
)
EMAILS = Counter(
    "revtain_dunning_messages_total", "Dunning messages that left the pending state, by channel and state.",
    ["channel", "status"],
)
JOBS = Counter("revtain_jobs_total", "RQ jobs run by workers, by job and result.", ["job", "result"])
JOB_SECONDS = Histogram("revtain_job_duration_seconds", "Time a worker spent on a job.", ["job"])
SCHEDULER_ENQUEUED = Counter(
    "revtain_scheduler_enqueued_total", "Due rows the scheduler enqueued, by kind.", ["kind"]
)
REQUEST_SECONDS = Histogram(
    "revtain_http_request_duration_seconds",
    "HTTP request latency, by endpoint (the Flask endpoint name, never the raw path), method and status.",
    ["endpoint", "method", "status"],
)


def count_enqueued(counts: dict[str, int]) -> None:
    for kind, n in counts.items():
        if n:
            SCHEDULER_ENQUEUED.labels(kind).inc(n)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _LiveState(Collector):
    """Read at scrape time: RQ queue depths and how late the oldest due row of each kind is."""

    def __init__(self, app) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from . import live_state

        with self.app.app_context():
            depths, lateness, due = live_state.read()
        depth = GaugeMetricFamily("revtain_queue_depth", "Jobs waiting in each RQ queue.", labels=["queue"])
        for name, value in depths.items():
            depth.add_metric([name], value)
        late = GaugeMetricFamily(
            "revtain_due_rows_lateness_seconds",
            "How long the oldest due, unclaimed row of each kind has been waiting (0: none waiting).",
            labels=["kind"],
        )
        count = GaugeMetricFamily("revtain_due_rows", "Due, unclaimed rows of each kind.", labels=["kind"])
        for kind, seconds in lateness.items():
            late.add_metric([kind], seconds)
            count.add_metric([kind], due[kind])
        yield from (depth, late, count)


def exposition(app) -> bytes:
    registry = CollectorRegistry()
    path = multiprocess_dir()
    if path:
        multiprocess.MultiProcessCollector(registry, path=path)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    live = CollectorRegistry()
    live.register(_LiveState(app))
    return body + generate_latest(live)


bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics_view():
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), str(token).encode()):
            return {"error": "metrics need Authorization: Bearer <METRICS_TOKEN>"}, 401
    elif is_production(current_app):
        return {"error": "metrics are off: set REVTAIN_METRICS_TOKEN to serve them"}, 404
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return Response(exposition(app), mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Cache-Control": "no-store"})
