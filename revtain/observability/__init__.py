"""Running Revtain as a service: health and readiness, Prometheus metrics, structured logs."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Health and metrics endpoints, request ids, timing and logs, business counters on sessions."""
    from . import counting, health, logs, metrics, requests

    logs.setup_structlog()
    if not app.config.get("TESTING"):  # tests keep pytest's log capture
        logs.configure_for(app, "web")
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    requests.init_app(app)
    counting.install()
