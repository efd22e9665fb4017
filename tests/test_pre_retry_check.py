"""The pre-retry check: before each scheduled retry the real worker (in-process, burst mode) asks a
real HTTP server playing the merchant, signed like a webhook; "skip" closes the recovery with its
reason, anything else lets the retry go ahead, and every answer is on the recovery's timeline."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta

import pytest
from rq.job import Job
from sqlalchemy import func, select
from standardwebhooks import Webhook

from revtain.dashboard.accounts import create_user
from revtain.extensions import db
from revtain.models import Attempt, Client, Message, PreRetryCheck
from revtain.onboarding import onboard
from revtain.queues import RUN_RECOVERY_RETRY, job_id
from revtain.recovery.pre_retry import configure
from revtain.redis_conn import connection
from tests.support import card_update
from tests.support.jobs import run_jobs, sweep
from tests.support.merchant_check import MerchantCheck
from tests.test_dashboard import PASSWORD, csrf_of, login, text

QUESTION_KEYS = [
    "event", "checkId", "revtainTransactionId", "idempotencyKey", "amount", "currency", "customerEmail",
    "paymentMethodToken", "retryNumber", "attemptsSoFar", "lastDeclineCode", "source", "sourceInvoice",
    "failedAt", "answerWithinSeconds",
]  # fmt: skip


@pytest.fixture
def check():
    with MerchantCheck() as server:
        yield server


def set_check(app, client_id: str, url: str | None, timeout: float | None = 1.0) -> None:
    with app.app_context():
        configure(db.session.get(Client, client_id), url=url, timeout=timeout)
        db.session.commit()


@pytest.fixture
def checked(app, merchant, check):
    set_check(app, merchant.client_id, check.url)
    return merchant


def queue(client, headers, token: str = "pm_pays_later", **body) -> str:
    payload = {
        "paymentMethodToken": token,
        "amount": 4900,
        "originalDeclineCode": "insufficient_funds",
        "customerEmail": "jo@example.com",
        "idempotencyKey": f"inv_{token}",
        **body,
    }
    r = client.post("/api/recovery/execute", json=payload, headers=headers)
    assert r.status_code == 202, r.get_json()
    return r.get_json()["transactionId"]


def at(app, seconds: float) -> dict:
    """The clock ``seconds`` after now (the sandbox ladder retries 10, 30 and 60 s after the
    failure), then one scheduler tick and the jobs it enqueued."""
    app.extensions["revtain.clock"].freeze(datetime.now(UTC) + timedelta(seconds=seconds))
    return sweep(app)


def status(client, headers, tx: str) -> dict:
    return client.get(f"/api/recovery/status/{tx}", headers=headers).get_json()


def attempts(app, tx: str) -> int:
    with app.app_context():
        return db.session.execute(
            select(func.count()).select_from(Attempt).where(Attempt.recovery_id == tx)
        ).scalar_one()


def checks(app, tx: str) -> list[PreRetryCheck]:
    with app.app_context():
        rows = list(
            db.session.execute(
                select(PreRetryCheck).where(PreRetryCheck.recovery_id == tx).order_by(PreRetryCheck.asked_at)
            ).scalars()
        )
        for row in rows:
            db.session.expunge(row)
        return rows


# --- the question ------------------------------------------------------------------------------


def test_the_question_is_signed_like_a_webhook_and_proceed_lets_the_retry_charge(
    app, client, headers, checked, check
):
    tx = queue(client, headers)
    assert at(app, 5)["recoveries"] == 0 and check.requests == []  # not due yet: nothing asked
    at(app, 15)
    (asked,) = check.requests
    assert asked.path == "/revtain/pre-retry"
    assert asked.headers["Content-Type"] == "application/json"
    assert asked.headers["User-Agent"] == "Revtain-Webhooks/1.0"
    assert asked.signature_valid(checked.webhook_signing_secret)
    Webhook(checked.webhook_signing_secret).verify(asked.body, asked.headers)  # reference library
    question = asked.json
    assert list(question) == QUESTION_KEYS
    assert question["event"] == "recovery.pre_retry_check"
    assert asked.headers["webhook-id"] == question["checkId"]
    assert question["revtainTransactionId"] == tx and question["idempotencyKey"] == "inv_pm_pays_later"
    assert (question["amount"], question["currency"], question["customerEmail"]) == (
        4900,
        "USD",
        "jo@example.com",
    )
    assert question["paymentMethodToken"] == "pm_pays_later"
    assert (question["retryNumber"], question["attemptsSoFar"]) == (1, 0)
    assert question["lastDeclineCode"] == "insufficient_funds"
    assert question["source"] is None and question["sourceInvoice"] is None
    assert question["answerWithinSeconds"] == 1.0
    assert b'"amount":4900,' in asked.body  # compact JSON, like the webhooks

    assert status(client, headers, tx)["status"] == "succeeded" and attempts(app, tx) == 1
    (logged,) = checks(app, tx)
    assert (logged.id, logged.decision, logged.status_code, logged.error) == (
        question["checkId"],
        "proceed",
        200,
        None,
    )
    assert logged.response_excerpt == '{"action": "proceed"}' and logged.url == check.url


def test_every_scheduled_retry_asks_first(app, client, headers, checked, check):
    tx = queue(client, headers, token="test_decline_insufficient_funds")
    for seconds in (15, 35, 65, 200):
        at(app, seconds)
    assert [(q.json["retryNumber"], q.json["attemptsSoFar"]) for q in check.requests] == [
        (1, 0),
        (2, 1),
        (3, 2),
    ]
    assert attempts(app, tx) == 3 and status(client, headers, tx)["status"] == "failed"


def test_without_a_url_nothing_is_asked(app, client, headers, merchant, check):
    tx = queue(client, headers)
    at(app, 15)
    assert check.requests == [] and checks(app, tx) == []
    assert status(client, headers, tx)["status"] == "succeeded"


# --- skip ----------------------------------------------------------------------------------------


def test_skip_paid_elsewhere_closes_the_recovery_as_paid_without_charging(
    app, client, headers, checked, check, receiver
):
    tx = queue(client, headers)
    check.answer(200, {"action": "skip", "reason": "paid_elsewhere"})
    at(app, 15)
    run_jobs(app)
    assert attempts(app, tx) == 0
    body = status(client, headers, tx)
    assert (body["status"], body["strategyUsed"], body["pending"]) == ("succeeded", "paid_elsewhere", False)
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.success" and hook.json["trigger"] == "paid_elsewhere"
    (logged,) = checks(app, tx)
    assert (logged.decision, logged.reason) == ("skip", "paid_elsewhere")
    at(app, 120)
    assert len(check.requests) == 1 and attempts(app, tx) == 0


def test_skip_subscription_cancelled_closes_it_as_failed_and_stops_its_dunning(
    app, client, headers, checked, check, receiver
):
    card_update.publish_dunning(app, checked.client_id)  # an email at once, another a day later
    tx = queue(client, headers)
    check.answer(200, {"action": "skip", "reason": "subscription_cancelled"})
    at(app, 15)
    run_jobs(app)
    assert attempts(app, tx) == 0
    body = status(client, headers, tx)
    assert body["status"] == "failed" and body["pending"] is False
    assert body["lastDeclineCode"] == "insufficient_funds"
    hooks = receiver.wait_for(1)
    (failed,) = [h for h in hooks if h.json["event"] == "recovery.failed"]
    assert failed.json["trigger"] == "pre_retry_check" and failed.json["reason"] == "subscription_cancelled"
    assert failed.json["declineCode"] == "insufficient_funds"
    assert failed.json["message"] == "Closed by the merchant: subscription_cancelled."
    assert failed.signature_valid(checked.webhook_signing_secret)
    with app.app_context():
        states = [
            (m.status, m.error)
            for m in db.session.execute(select(Message).where(Message.recovery_id == tx)).scalars()
        ]
    assert ("pending", None) not in states and ("cancelled", "withdrawn") in states
    for seconds in (35, 65, 90_000):  # no more questions, retries or emails
        at(app, seconds)
    assert len(check.requests) == 1 and attempts(app, tx) == 0
    with app.app_context():
        assert (
            db.session.execute(
                select(func.count())
                .select_from(Message)
                .where(Message.recovery_id == tx, Message.status == "pending")
            ).scalar_one()
            == 0
        )


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"action": "SKIP", "reason": "Subscription_Cancelled"}, "subscription_cancelled"),
        ({"action": "skip", "reason": "customer_asked"}, "customer_asked"),
        ({"action": "skip"}, "merchant_skipped"),
        ({"action": "skip", "reason": "<b>gone</b>"}, "merchant_skipped"),
        ({"action": "skip", "reason": 42}, "merchant_skipped"),
    ],
)
def test_a_skip_keeps_a_usable_reason(app, client, headers, checked, check, answer, reason):
    tx = queue(client, headers)
    check.answer(200, answer)
    at(app, 15)
    assert checks(app, tx)[0].reason == reason and attempts(app, tx) == 0
    with app.app_context():
        from revtain.models import Recovery

        assert db.session.get(Recovery, tx).error == reason


# --- anything else goes ahead ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ({"status": 500, "body": {"action": "skip", "reason": "paid_elsewhere"}}, "HTTP 500; going ahead"),
        ({"status": 200, "body": "skip"}, "the answer is not JSON"),
        ({"status": 200, "body": ""}, "the answer is not JSON"),
        ({"status": 200, "body": {"action": "wait"}}, '"action" is "wait", not "proceed" or "skip"'),
        ({"status": 200, "body": ["skip"]}, '"action" is null'),
        ({"status": 302, "body": "", "headers": {"Location": "http://127.0.0.1:9/skip"}}, "HTTP 302"),
        ({"status": 200, "body": {"action": "skip"}, "delay": 2.5}, "did not answer in time; going ahead"),
    ],
)
def test_an_error_a_timeout_or_an_unclear_answer_lets_the_retry_go_ahead(
    app, client, headers, checked, check, answer, error
):
    tx = queue(client, headers)
    check.answer(**answer)
    at(app, 15)
    assert status(client, headers, tx)["status"] == "succeeded" and attempts(app, tx) == 1
    (logged,) = checks(app, tx)
    assert logged.decision == "proceed" and error in logged.error
    assert logged.duration_ms < 1000 + 1500  # the timeout (1 s) bounds the wait


def test_a_url_that_refuses_connections_lets_the_retry_go_ahead(app, client, headers, merchant):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/check"
    set_check(app, merchant.client_id, closed)
    tx = queue(client, headers)
    at(app, 15)
    assert status(client, headers, tx)["status"] == "succeeded"
    (logged,) = checks(app, tx)
    assert logged.status_code is None and "refused the connection" in logged.error


def test_a_recovery_closed_while_the_merchant_answers_is_not_charged_again(
    app, client, headers, checked, check, receiver
):
    """The customer updates the card (and is charged at once) while Revtain waits for the answer."""
    tx = queue(client, headers, token="pm_old_card")
    link = card_update.generate(client, headers, "pm_old_card")

    def customer_updates_the_card() -> None:
        customer = app.test_client()
        form = customer.get(card_update.page_path(link)).get_data(as_text=True)
        r = customer.post(
            card_update.page_path(link),
            data={
                "csrf": card_update.csrf_of(form),
                "number": "4111 1111 1111 1111",
                "expiry": "12/30",
                "cvc": "123",
            },
        )
        assert r.status_code == 200, r.get_data(as_text=True)

    check.answer(200, {"action": "proceed"}, before=customer_updates_the_card)
    at(app, 15)
    assert check.errors == [] and len(check.requests) == 1
    with app.app_context():  # the retry job saw the change and stopped, charging nothing
        job = Job.fetch(job_id(RUN_RECOVERY_RETRY, tx), connection=connection())
        assert job.get_status() == "finished" and job.return_value() == "skipped_by_merchant"
    assert attempts(app, tx) == 1  # the card update's charge only
    body = status(client, headers, tx)
    assert body["status"] == "succeeded" and body["attemptCount"] == 1


# --- the timeline and the settings ------------------------------------------------------------


def test_the_answers_are_on_the_recovery_timeline(app, client, headers, checked, check):
    tx = queue(client, headers, token="test_decline_insufficient_funds")
    check.answer(500, "down").answer(200, {"action": "skip", "reason": "subscription_cancelled"})
    at(app, 15)
    at(app, 35)
    with app.app_context():
        create_user(checked.client_id, "admin@acme.example", "admin", PASSWORD)
    assert login(client, "admin@acme.example").status_code == 302
    page = text(client.get(f"/dashboard/recoveries/{tx}"))
    assert "Pre-retry check 1: go ahead" in page and "HTTP 500; going ahead" in page
    assert "Pre-retry check 2: skip (subscription_cancelled)" in page
    assert page.index("Pre-retry check 1") < page.index("Attempt 1") < page.index("Pre-retry check 2")


def _save(client, data):
    token = csrf_of(client.get("/dashboard/settings").get_data(as_text=True))
    return client.post("/dashboard/settings/pre-retry-check", data={"precheck-csrf_token": token, **data})


def test_admins_set_the_pre_retry_check_in_the_dashboard(app, client, merchant, check):
    with app.app_context():
        for role in ("admin", "finance"):
            create_user(merchant.client_id, f"{role}@acme.example", role, PASSWORD)
    assert login(client, "admin@acme.example").status_code == 302
    r = _save(client, {"precheck-url": "ftp://example.com/check"})
    assert r.status_code == 400 and "Pre-retry check URL must use https://" in text(r)
    r = _save(client, {"precheck-url": check.url, "precheck-timeout": "30"})
    assert r.status_code == 400 and "The timeout must be from 0.5 to 10 seconds." in text(r)
    r = _save(client, {"precheck-url": check.url, "precheck-timeout": "2.5"})
    assert r.status_code == 302
    assert "Pre-retry check saved" in text(client.get("/dashboard/settings"))
    with app.app_context():
        saved = db.session.get(Client, merchant.client_id)
        assert (saved.pre_retry_check_url, saved.pre_retry_check_timeout) == (check.url, 2.5)
    assert _save(client, {"precheck-url": ""}).status_code == 302
    with app.app_context():
        assert db.session.get(Client, merchant.client_id).pre_retry_check_url is None

    finance = app.test_client()
    assert login(finance, "finance@acme.example").status_code == 302
    assert (
        finance.post("/dashboard/settings/pre-retry-check", data={"precheck-url": check.url}).status_code
        == 403
    )


def test_the_cli_and_onboarding_set_the_pre_retry_check(app, merchant, check):
    runner = app.test_cli_runner()
    assert (
        "off (scheduled retries go ahead"
        in runner.invoke(args=["pre-retry-check", "show", merchant.client_id]).output
    )
    r = runner.invoke(args=["pre-retry-check", "set", merchant.client_id, "ftp://example.com"])
    assert r.exit_code == 1 and "pre-retry check URL must use https://" in r.output
    r = runner.invoke(args=["pre-retry-check", "set", merchant.client_id, check.url, "--timeout", "0.1"])
    assert r.exit_code == 1 and "from 0.5 to 10 seconds (got 0.1)" in r.output
    r = runner.invoke(args=["pre-retry-check", "set", merchant.client_id, check.url, "--timeout", "2"])
    assert r.exit_code == 0 and f"{check.url} (answer within 2 s" in r.output, r.output
    assert "off" in runner.invoke(args=["pre-retry-check", "off", merchant.client_id]).output
    assert runner.invoke(args=["pre-retry-check", "show", "nobody"]).exit_code == 1

    r = runner.invoke(args=["onboard", "--name", "Checks Inc", "--pre-retry-check-url", check.url, "--json"])
    assert r.exit_code == 0, r.output
    with app.app_context():
        created = db.session.get(Client, json.loads(r.output)["clientId"])
        assert created.pre_retry_check_url == check.url and created.pre_retry_check_timeout is None
        with pytest.raises(Exception, match="pre-retry check URL must use https://"):
            onboard(name="Bad Check", webhook_url=None, pre_retry_check_url="ftp://example.com")
