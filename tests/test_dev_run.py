"""``./scripts/run`` (``revtain dev``) on a fresh instance: the demo merchant, its dashboard login,
readiness, a recovery with the printed key, and metrics from gunicorn and the worker."""

from __future__ import annotations

import re
import time

import requests

from tests.support.devrun import dev_run

EXECUTE = {"paymentMethodToken": "pm_1234567890", "amount": 5000, "currency": "USD",
           "originalDeclineCode": "do_not_honor", "idempotencyKey": "order_12345_retry_1"}


def test_a_fresh_dev_run_is_ready_with_a_demo_login(tmp_path):
    with dev_run(tmp_path / "instance") as dev:
        assert f"dashboard:     {dev.base_url}/dashboard" in dev.output
        assert dev.demo_email == "demo@revtain.example"
        assert (tmp_path / "instance" / "dev-base-url").read_text().strip() == dev.base_url
        ready = requests.get(f"{dev.base_url}/readyz", timeout=10)
        for _ in range(50):  # the scheduler's first tick may trail the web server by a moment
            if ready.status_code == 200:
                break
            ready = requests.get(f"{dev.base_url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text

        r = requests.post(f"{dev.base_url}/api/recovery/execute", json=EXECUTE,
                          headers={"X-API-KEY": dev.api_key}, timeout=30)
        assert r.status_code == 200 and r.json()["message"] == "Revenue Recovered", r.text

        session = requests.Session()
        login = session.get(f"{dev.base_url}/", timeout=10)
        assert login.url == f"{dev.base_url}/dashboard/login"
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login.text).group(1)
        signed_in = session.post(f"{dev.base_url}/dashboard/login", timeout=30, data={
            "csrf_token": csrf, "email": dev.demo_email, "password": dev.demo_password})
        assert signed_in.status_code == 200 and "/dashboard/login" not in signed_in.url, signed_in.text[:500]

        # web (gunicorn), worker and scheduler each write their samples; /metrics adds them up
        delivered = 'revtain_jobs_total{job="deliver_webhook",result="ok"} 1.0'
        for _ in range(100):
            metrics = requests.get(f"{dev.base_url}/metrics", timeout=10).text
            if delivered in metrics:
                break
            time.sleep(0.2)
        assert 'revtain_http_request_duration_seconds_count{endpoint="api.execute"' in metrics
        assert 'revtain_attempts_total{gateway="test",outcome="approved"} 1.0' in metrics
        assert delivered in metrics
        ticks = re.search(r"^revtain_scheduler_ticks_total (\S+)$", metrics, re.MULTILINE)
        assert ticks and float(ticks.group(1)) >= 1
