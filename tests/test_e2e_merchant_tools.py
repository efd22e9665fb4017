"""The paywall status, the BIN lookup, tokenize and merchant alerts against Revtain as real separate
processes: gunicorn, an RQ worker and the scheduler (``tests.support.processes``), configured only by
``REVTAIN_*`` variables, on the suite's database and Redis, with a real SMTP server and a real
webhook receiver. The merchant is onboarded with ``revtain onboard`` in its own process, as an
operator would. (SMS needs Twilio's HTTP layer stubbed, so it is shown in-process: tests/test_alerts.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from flask import Flask

from revtain import create_app
from tests.conftest import ENCRYPTION_KEY, _clean
from tests.support.processes import ROOT, Stack
from tests.support.receiver import Receiver
from tests.support.smtp import Inbox, smtp_server

CUSTOMER = "Jo@Example.com"
TIMEOUT = 20.0


@dataclass
class Live:
    app: Flask
    stack: Stack
    receiver: Receiver
    smtp: Inbox
    merchant: dict

    def url(self, path: str) -> str:
        return self.stack.base_url + path

    @property
    def secret(self) -> dict[str, str]:
        return {"X-API-KEY": self.merchant["apiKey"]}

    @property
    def publishable(self) -> dict[str, str]:
        return {"X-API-KEY": self.merchant["publishableKey"]}


@pytest.fixture(scope="module")
def smtp() -> Iterator[Inbox]:
    yield from smtp_server()


@pytest.fixture(scope="module")
def live(
    smtp, base_config, database_url, redis_url, instance_dir, migrated, tmp_path_factory
) -> Iterator[Live]:
    app = create_app(base_config)
    settings = {
        "REVTAIN_DATABASE_URL": database_url,
        "REVTAIN_REDIS_URL": redis_url,
        "REVTAIN_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "REVTAIN_SECRET_KEY": "e2e-secret",
        "REVTAIN_INSTANCE_PATH": instance_dir,
        "REVTAIN_TEST_GATEWAY_RETRY_LADDER": "[1, 2, 3]",
        "REVTAIN_SCHEDULER_INTERVAL_SECONDS": "0.2",
        "REVTAIN_MAIL_SMTP_HOST": "127.0.0.1",
        "REVTAIN_MAIL_SMTP_PORT": smtp.port,
        "REVTAIN_MAIL_SMTP_TLS": "none",
    }
    try:
        with Receiver() as receiver, Stack(settings, tmp_path_factory.mktemp("e2e-tools-logs")) as stack:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "revtain",
                    "onboard",
                    "--name",
                    "Acme Inc",
                    "--webhook-url",
                    receiver.url,
                    "--json",
                    "--notification-channels",
                    "WEBHOOK,EMAIL",
                    "--alert-email",
                    "ops@acme.example",
                    "--alert-threshold",
                    "USD:25.00",
                ],
                env=stack.env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            yield Live(app, stack, receiver, smtp, json.loads(done.stdout))
    finally:
        _clean(app)


def test_a_failed_payment_alerts_the_team_and_puts_the_customer_past_due(live):
    r = requests.post(
        live.url("/api/recovery/execute"),
        headers=live.secret,
        timeout=10,
        json={
            "paymentMethodToken": "test_decline_do_not_honor",
            "amount": 4900,
            "currency": "USD",
            "customerEmail": CUSTOMER,
        },
    )
    assert r.status_code == 202, live.stack.explain(r)  # queued: every retry of this card is declined
    tx = r.json()["transactionId"]

    # the scheduler and the worker run out of retries; the alert's email is sent by the worker, from its row
    (mail,) = live.smtp.wait_for(1, TIMEOUT, live.stack.logs)
    assert mail["To"] == "ops@acme.example"
    assert mail["Subject"].startswith("[Acme Inc] A $49.00 payment failed")
    alert = live.stack.wait_until(lambda: live.receiver.events("merchant.alert"), "merchant.alert", TIMEOUT)
    assert alert[0].json["revtainTransactionId"] == tx
    assert alert[0].signature_valid(live.merchant["webhookSigningSecret"])

    status = requests.get(
        live.url("/api/recovery/paywall-status"),
        params={"customerEmail": "jo@example.com"},
        headers={**live.publishable, "Origin": "https://app.acme.example"},
        timeout=10,
    )
    assert status.status_code == 200 and status.headers["Access-Control-Allow-Origin"] == "*"
    assert status.json()["isPastDue"] is True and status.json()["totalOwedCents"] == 4900
    assert (
        requests.get(live.url(f"/api/recovery/status/{tx}"), headers=live.publishable, timeout=10).status_code
        == 403
    )


def test_a_tokenized_test_card_pays_and_the_bin_says_what_it_is(live):
    card = requests.post(
        live.url("/api/recovery/tokenize"),
        headers=live.secret,
        timeout=10,
        json={"cardNumber": "5555 5555 5555 4444", "expMonth": 12, "expYear": 2030, "cvc": "123"},
    )
    assert card.status_code == 200, live.stack.explain(card)
    token = card.json()["paymentMethodToken"]
    r = requests.post(
        live.url("/api/recovery/execute"),
        headers=live.secret,
        timeout=10,
        json={
            "paymentMethodToken": token,
            "amount": 2000,
            "customerEmail": "sam@example.com",
            "originalDeclineCode": "insufficient_funds",
        },
    )
    assert r.status_code == 202, live.stack.explain(r)
    tx = r.json()["transactionId"]
    hook = live.stack.wait_until(
        lambda: [h for h in live.receiver.events("recovery.success") if h.json["revtainTransactionId"] == tx],
        "recovery.success",
        TIMEOUT,
    )  # the scheduler and the worker retried it with the token
    assert hook[0].json["trigger"] == "scheduled_retry"

    lookup = requests.get(live.url("/api/lookup/bin/555555"), timeout=10)
    assert lookup.status_code == 200 and lookup.json()["cardNetwork"] == "mastercard"
    assert requests.get(live.url("/api/lookup/bin/55"), timeout=10).status_code == 400
    snippet = requests.get(live.url("/revtain-paywall.js"), timeout=10)
    assert snippet.status_code == 200 and snippet.headers["Content-Type"].startswith("application/javascript")
