"""Structured logs: one JSON line per request carrying its request id, job ids in job lines, and
never a secret, API key or card number."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from revtain.observability import logs
from revtain.onboarding import onboard
from tests.support.jobs import run_jobs
from tests.support.receiver import Receiver


@pytest.fixture
def lines():
    """What the production handler writes (the real formatter), as parsed JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter(as_json=True))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def read() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    read.raw = stream.getvalue  # type: ignore[attr-defined]
    yield read
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_line_per_request_with_its_request_id(app, lines):
    client = app.test_client()
    given = client.get("/api/decline-codes", headers={"X-Request-ID": "req-abc.123"})
    made = client.get("/api/decline-codes")
    assert given.headers["X-Request-ID"] == "req-abc.123"
    made_id = made.headers["X-Request-ID"]
    assert len(made_id) == 32 and made_id != "req-abc.123"
    requests = [line for line in lines() if line["event"] == "request"]
    assert [line["request_id"] for line in requests] == ["req-abc.123", made_id]
    first = requests[0]
    assert first["method"] == "GET" and first["status"] == given.status_code
    assert first["level"] == "info" and first["logger"] == "revtain.request"
    assert "timestamp" in first and "duration_ms" in first


def test_an_unsafe_request_id_is_replaced(app, lines):
    r = app.test_client().get("/healthz", headers={"X-Request-ID": "x" * 200})
    assert r.headers["X-Request-ID"] != "x" * 200
    r = app.test_client().get("/healthz", headers={"X-Request-ID": "a b\"<script>"})
    assert len(r.headers["X-Request-ID"]) == 32


def test_no_secret_key_or_card_number_in_the_logs(app, lines):
    with Receiver() as receiver:
        with app.app_context():
            merchant = onboard(name="Acme", webhook_url=receiver.url)
        r = app.test_client().post(
            "/api/recovery/execute",
            json={"paymentMethodToken": "pm_1", "amount": 5000, "currency": "USD",
                  "originalDeclineCode": "do_not_honor"},
            headers={"X-API-KEY": merchant.api_key, "X-Request-ID": "exec-1"},
        )
        assert r.status_code == 200
        run_jobs(app)
        assert len(receiver.wait_for(1)) == 1
    card = "4242 4242 4242 4242"
    # whatever a caller puts in a message or a field
    logging.getLogger("revtain.somewhere").warning("key %s card %s secret %s", merchant.api_key, card,
                                                   merchant.webhook_signing_secret)
    structlog.stdlib.get_logger("revtain.elsewhere").info(
        "event", api_key=merchant.api_key, card_number="4242424242424242",
        nested={"password": "hunter2", "note": f"pan 4000056655665556 for {merchant.api_key}"},
    )
    text = lines.raw()
    for secret in (merchant.api_key, merchant.webhook_signing_secret, card, "4242424242424242",
                   "4000056655665556", "hunter2"):
        assert secret not in text
    parsed = lines()
    assert any(line.get("request_id") == "exec-1" and line["event"] == "request" for line in parsed)
    masked = next(line for line in parsed if line["logger"] == "revtain.somewhere")
    assert masked["event"].startswith("key [redacted] card [card] secret [redacted]")
    fields = next(line for line in parsed if line["logger"] == "revtain.elsewhere")
    assert fields["api_key"] == "[redacted]" and fields["card_number"] == "[redacted]"
    assert fields["nested"] == {"password": "[redacted]", "note": "pan [card] for [redacted]"}


def test_job_lines_carry_the_job_and_its_row(app, lines):
    with Receiver() as receiver:
        with app.app_context():
            merchant = onboard(name="Acme", webhook_url=receiver.url)
        app.test_client().post(
            "/api/recovery/execute",
            json={"paymentMethodToken": "pm_1", "amount": 5000, "currency": "USD",
                  "originalDeclineCode": "do_not_honor"},
            headers={"X-API-KEY": merchant.api_key},
        )
        run_jobs(app)
        assert len(receiver.wait_for(1)) == 1
    (job,) = [line for line in lines() if line["event"] == "job"]
    assert job["job"] == "deliver_webhook" and job["result"] == "ok"
    assert job["job_id"] == f"delivery-{job['delivery_id']}"
    assert "request_id" not in job  # the request's context ended with the request


def test_scheduled_retry_lines_carry_the_recovery_id(make_app, lines):
    app = make_app(FROZEN_NOW="2026-03-17T12:00:00+00:00")
    from datetime import timedelta

    from tests.support.jobs import sweep

    with app.app_context():
        merchant = onboard(name="Acme", webhook_url=None)
    r = app.test_client().post(
        "/api/recovery/execute",
        json={"paymentMethodToken": "pm_card_visa_chargeDeclinedInsufficientFunds", "amount": 5000,
              "currency": "USD", "originalDeclineCode": "insufficient_funds"},
        headers={"X-API-KEY": merchant.api_key},
    )
    recovery_id = r.get_json()["transactionId"]
    app.extensions["revtain.clock"].advance(timedelta(days=30))
    sweep(app)
    jobs = [line for line in lines() if line["event"] == "job" and line["job"] == "run_recovery_retry"]
    assert jobs and all(line["recovery_id"] == recovery_id for line in jobs), r.get_json()


def test_development_lines_are_readable(app):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter(as_json=False))
    record = logging.LogRecord("revtain.x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    handler.emit(record)
    assert "hello world" in stream.getvalue() and not stream.getvalue().startswith("{")
