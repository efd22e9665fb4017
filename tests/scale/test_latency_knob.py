"""The benchmark latency knob: the test gateway and the dev webhook inbox wait as configured."""

from __future__ import annotations

import time

from revtain import gateways
from revtain.gateways import ChargeRequest


def _recorded_sleeps(monkeypatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


def test_test_gateway_waits_the_configured_latency(make_app, monkeypatch):
    app = make_app(TEST_GATEWAY_LATENCY_MS=300)
    slept = _recorded_sleeps(monkeypatch)
    request = ChargeRequest(token="tok_x", amount=1000, currency="USD", idempotency_key="k1")
    with app.app_context():
        gateway = gateways.for_name("test")
        assert gateway.charge(request).approved
        assert gateway.lookup(request).approved
    assert slept == [0.3, 0.3]


def test_test_gateway_answers_at_once_by_default(app, monkeypatch):
    slept = _recorded_sleeps(monkeypatch)
    with app.app_context():
        result = gateways.for_name("test").charge(
            ChargeRequest(token="tok_x", amount=1000, currency="USD", idempotency_key="k1")
        )
    assert result.approved and slept == []


def test_dev_inbox_waits_the_configured_latency(make_app, monkeypatch):
    app = make_app(DEV_WEBHOOK_INBOX_LATENCY_MS=200)
    slept = _recorded_sleeps(monkeypatch)
    answer = app.test_client().post("/dev/webhook-inbox/nobody", data=b"{}")
    assert answer.status_code == 404 and slept == [0.2]
