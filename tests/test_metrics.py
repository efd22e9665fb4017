"""/metrics: counters move with a real execute, a real job and a real delivery; the worker's own
samples are scraped in multiprocess mode; the endpoint is protected."""

from __future__ import annotations

import subprocess
import sys

from prometheus_client.parser import text_string_to_metric_families

from revtain.onboarding import onboard
from tests.support.jobs import run_jobs
from tests.support.processes import ROOT, process_env
from tests.support.receiver import Receiver

EXECUTE = {"paymentMethodToken": "pm_1", "amount": 5000, "currency": "USD",
           "originalDeclineCode": "do_not_honor"}


def scrape(app, **headers) -> dict[tuple[str, tuple], float]:
    r = app.test_client().get("/metrics", headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(r.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_execute_job_and_delivery_move_the_counters(app):
    before = scrape(app)
    with Receiver() as receiver:
        with app.app_context():
            merchant = onboard(name="Acme", webhook_url=receiver.url)
        r = app.test_client().post("/api/recovery/execute", json=EXECUTE,
                                   headers={"X-API-KEY": merchant.api_key})
        assert r.status_code == 200 and r.get_json()["success"] is True, r.get_json()
        run_jobs(app)  # the real worker delivers the recovery.success webhook
        assert len(receiver.wait_for(1)) == 1
    after = scrape(app)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("revtain_attempts_total", gateway="test", outcome="approved") == 1
    assert moved("revtain_recoveries_finished_total", outcome="succeeded", decline_family="generic") == 1
    assert moved("revtain_recovered_amount_minor_total", currency="USD") == 5000
    assert moved("revtain_jobs_total", job="deliver_webhook", result="ok") == 1
    assert moved("revtain_job_duration_seconds_count", job="deliver_webhook") == 1
    assert moved("revtain_webhook_deliveries_delivered_total") == 1
    assert moved("revtain_webhook_delivery_lag_seconds_count") == 1
    assert moved("revtain_http_request_duration_seconds_count", endpoint="api.execute", method="POST",
                 status="200") == 1


def test_failed_delivery_tries_are_counted_by_state(app):
    before = scrape(app)
    with Receiver(fail_first=1) as receiver:
        with app.app_context():
            merchant = onboard(name="Acme", webhook_url=receiver.url)
        app.test_client().post("/api/recovery/execute", json=EXECUTE, headers={"X-API-KEY": merchant.api_key})
        run_jobs(app)
        assert len(receiver.wait_for(1)) == 1
    after = scrape(app)
    key = ("revtain_webhook_failed_tries_total", (("state", "pending"),))
    assert after[key] - before.get(key, 0) == 1


def test_queue_depth_and_due_rows_are_read_at_scrape_time(app):
    with app.app_context():
        merchant = onboard(name="Acme", webhook_url="http://127.0.0.1:9/hook")
    app.test_client().post("/api/recovery/execute", json=EXECUTE, headers={"X-API-KEY": merchant.api_key})
    samples = scrape(app)  # the delivery job waits in its queue, its row is due
    assert value(samples, "revtain_queue_depth", queue="webhooks") == 1
    assert value(samples, "revtain_queue_depth", queue="recoveries") == 0
    assert value(samples, "revtain_due_rows", kind="deliveries") == 1
    assert value(samples, "revtain_due_rows_lateness_seconds", kind="deliveries") >= 0
    assert value(samples, "revtain_due_rows", kind="recoveries") == 0


def test_worker_process_metrics_are_scraped_in_multiprocess_mode(app, tmp_path, monkeypatch):
    """A real ``revtain worker --burst`` process writes its samples; the web app adds them up."""
    with Receiver() as receiver:
        with app.app_context():
            merchant = onboard(name="Acme", webhook_url=receiver.url)
        app.test_client().post("/api/recovery/execute", json=EXECUTE, headers={"X-API-KEY": merchant.api_key})
        env = process_env({
            "REVTAIN_DATABASE_URL": app.config["DATABASE_URL"], "REVTAIN_REDIS_URL": app.config["REDIS_URL"],
            "REVTAIN_ENCRYPTION_KEY": app.config["ENCRYPTION_KEY"], "REVTAIN_SECRET_KEY": "x",
            "REVTAIN_INSTANCE_PATH": app.instance_path,
        })
        env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)
        done = subprocess.run([sys.executable, "-m", "revtain", "worker", "--burst"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert len(receiver.wait_for(1)) == 1
    assert list(tmp_path.glob("counter_*.db")), "the worker wrote no metric files"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = scrape(app)
    assert value(samples, "revtain_jobs_total", job="deliver_webhook", result="ok") == 1
    assert value(samples, "revtain_webhook_deliveries_delivered_total") == 1
    # this test process's own execute is not in the worker's files: only what the files hold
    assert value(samples, "revtain_attempts_total", gateway="test", outcome="approved") == 0


def test_metrics_token(make_app):
    app = make_app(METRICS_TOKEN="s3cret-metrics")
    assert app.test_client().get("/metrics").status_code == 401
    wrong = app.test_client().get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert "revtain_queue_depth" in str(scrape(app, Authorization="Bearer s3cret-metrics"))


def test_metrics_are_off_in_production_without_a_token(make_app):
    app = make_app(ENV="production")
    r = app.test_client().get("/metrics")
    assert r.status_code == 404
    assert "REVTAIN_METRICS_TOKEN" in r.get_json()["error"]
