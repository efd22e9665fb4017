"""Proof Mode end to end against Revtain running as real separate processes (gunicorn, the RQ worker
and the scheduler, configured only by ``REVTAIN_*`` variables), over real HTTP, with the signed
webhooks arriving at a real receiver:

* a customer's group sticks across resubmits (new card, new invoice, new amount);
* the control group is never charged, retried or dunned, and gets a signed ``recovery.holdout``;
* the treatment group is recovered by the real worker's scheduled retries;
* the Proof of Lift that ``revtain proof-mode report`` prints (a real process too) matches an
  independent two-proportion computation: Newcombe's published interval for 56 of 70 against
  48 of 80, and SciPy's chi-square test for the verdict.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import requests
from flask import Flask
from scipy.stats import chi2_contingency
from sqlalchemy import func, select
from standardwebhooks import Webhook

from revtain import create_app
from revtain.dunning import sequences
from revtain.dunning.sequences import StepSpec
from revtain.extensions import db
from revtain.models import Attempt, Client, Message, MessageTemplate, Recovery
from revtain.onboarding import IssuedCredentials, onboard
from tests.conftest import ENCRYPTION_KEY, _clean
from tests.support.processes import ROOT, Stack, revtain_settings
from tests.support.proof_mode import emails_in
from tests.support.receiver import Receiver

SHARE = 50


@dataclass
class Live:
    app: Flask
    stack: Stack
    receiver: Receiver
    merchant: IssuedCredentials

    def post(self, path: str, body: dict) -> requests.Response:
        return requests.post(
            f"{self.stack.base_url}{path}",
            json=body,
            headers={"X-API-KEY": self.merchant.api_key},
            timeout=10,
        )

    def execute(self, **body) -> dict:
        r = self.post("/api/recovery/execute", {"currency": "USD", **body})
        assert r.status_code in (200, 202), self.stack.explain(r)
        return r.json()

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "revtain", *args],
            env=self.stack.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def attempts(self, *where) -> int:
        with self.app.app_context():
            query = (
                select(func.count()).select_from(Attempt).join(Recovery, Recovery.id == Attempt.recovery_id)
            )
            return db.session.execute(query.where(*where)).scalar_one()


@pytest.fixture(scope="module")
def live(base_config, database_url, redis_url, instance_dir, migrated, tmp_path_factory) -> Iterator[Live]:
    app = create_app(base_config)
    settings = revtain_settings(
        database_url, redis_url, instance_dir, ENCRYPTION_KEY, EXECUTE_RATE_LIMIT="10000 per minute"
    )
    try:
        with Receiver() as receiver, Stack(settings, tmp_path_factory.mktemp("proof-logs")) as stack:
            with app.app_context():
                merchant = onboard(
                    name="Proof E2E", webhook_url=receiver.url, gateway="test", proof_mode_share=SHARE
                )
                client = db.session.get(Client, merchant.client_id)
                template = db.session.execute(
                    select(MessageTemplate).where(MessageTemplate.client_id == client.id).limit(1)
                ).scalar_one()
                sequences.publish(
                    sequences.create_sequence(client, "Default", [StepSpec(template.id, 0, "any")])
                )
            yield Live(app, stack, receiver, merchant)
    finally:
        _clean(app)


def test_proof_mode_end_to_end_on_the_real_worker(live):
    client_id = live.merchant.client_id
    treated = emails_in(client_id, "treatment", 69, SHARE, prefix="t")
    held = emails_in(client_id, "control", 78, SHARE, prefix="c")

    # -- the control group: answered at once, and the group sticks to the customer -------------------
    control_txs = []
    sticky = held[0]
    for n, (token, code) in enumerate(
        [("pm_c0", "insufficient_funds"), ("pm_c0_new_card", "do_not_honor"), ("pm_c0_third", "expired_card")]
    ):
        body = live.execute(
            paymentMethodToken=token,
            amount=4900 + n,
            originalDeclineCode=code,
            customerEmail=sticky.upper() if n == 1 else sticky,
            idempotencyKey=f"c_{n}",
        )
        assert body["success"] is False and body["status"] == "holdout" and body["holdout"] is True, body
        assert body["gatewaysAttempted"] == 0
        control_txs.append(body["transactionId"])
    for i, email in enumerate(held[1:], start=3):  # 80 held-out invoices in all
        body = live.execute(
            paymentMethodToken=f"pm_c{i}",
            amount=1000 + i,
            originalDeclineCode="insufficient_funds",
            customerEmail=email,
            idempotencyKey=f"c_{i}",
        )
        assert body["holdout"] is True, body
        control_txs.append(body["transactionId"])
    assert len(control_txs) == 80

    # -- the treatment group: queued and recovered (or not) by the real worker ----------------------
    treatment_txs = []
    for i in range(70):  # the first customer fails twice: the same group again
        email = treated[max(0, i - 1)]
        token = f"pm_t{i}" if i < 56 else f"test_decline_insufficient_funds+card:{i}"  # one card each
        body = live.execute(
            paymentMethodToken=token,
            amount=2000 + i,
            originalDeclineCode="insufficient_funds",
            customerEmail=email,
            idempotencyKey=f"t_{i}",
        )
        assert body["status"] == "queued" and "holdout" not in body, body
        treatment_txs.append(body["transactionId"])

    def settled():
        finished = {
            h.json["revtainTransactionId"]
            for h in live.receiver.events()
            if h.json["event"] in ("recovery.success", "recovery.failed")
        }
        return finished >= set(treatment_txs) and len(live.receiver.events("recovery.holdout")) >= 80

    live.stack.wait_until(settled, "every recovery's final webhook", timeout=90)
    hooks = live.receiver.events()
    by_event: dict[str, list] = {}
    for hook in hooks:
        by_event.setdefault(hook.json["event"], []).append(hook)
    assert len(by_event["recovery.success"]) == 56 and len(by_event["recovery.failed"]) == 14
    holdouts = by_event["recovery.holdout"]
    assert sorted(h.json["revtainTransactionId"] for h in holdouts) == sorted(control_txs)  # one each
    for hook in holdouts:
        assert hook.signature_valid(live.merchant.webhook_signing_secret), hook.headers
        Webhook(live.merchant.webhook_signing_secret).verify(hook.body, hook.headers)
        assert hook.json["clientId"] == client_id and hook.json["holdout"] is True
    first = next(h.json for h in holdouts if h.json["revtainTransactionId"] == control_txs[0])
    assert first["customerEmail"] == sticky and first["paymentMethodToken"] == "pm_c0"

    # -- never charged, retried or dunned, even after the treatment's whole retry ladder -------------
    assert live.attempts(Recovery.id.in_(control_txs)) == 0
    assert live.attempts(Recovery.id.in_(treatment_txs)) >= 56 + 14 * 3
    with live.app.app_context():
        held_rows = db.session.execute(select(Recovery).where(Recovery.id.in_(control_txs))).scalars().all()
        assert {(r.status, r.next_attempt_at) for r in held_rows} == {("holdout", None)}
        assert (
            db.session.execute(
                select(func.count()).select_from(Message).where(Message.recovery_id.in_(control_txs))
            ).scalar_one()
            == 0
        )
        assert (
            db.session.execute(
                select(func.count()).select_from(Message).where(Message.recovery_id.in_(treatment_txs))
            ).scalar_one()
            >= 14
        )
    r = requests.get(
        f"{live.stack.base_url}/api/recovery/status/{control_txs[0]}",
        headers={"X-API-KEY": live.merchant.api_key},
        timeout=10,
    )
    status = r.json()
    assert (status["status"], status["pending"], status["holdout"], status["attemptCount"]) == (
        "unknown",
        False,
        True,
        0,
    )

    # -- organic payments of held-out invoices, then the report ---------------------------------------
    for i in range(48):
        r = live.post("/api/recovery/pulse", {"amount": 1000, "transactionId": f"c_{i}"})
        assert r.status_code == 200, live.stack.explain(r)

    now = datetime.now(UTC)
    early = json.loads(live.cli("proof-mode", "report", client_id, "--json"))
    assert early["verdict"] == "in_progress" and early["treatment"]["observing"] == 70
    assert early["control"]["observing"] == 80 and early["upliftPoints"] is None

    later = (now + timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%S")
    report = json.loads(live.cli("proof-mode", "report", client_id, "--as-of", later, "--json"))
    assert report["treatment"] == {"invoices": 70, "recovered": 56, "rate": 0.8, "observing": 0}
    assert report["control"] == {"invoices": 80, "recovered": 48, "rate": 0.6, "observing": 0}
    assert report["upliftPoints"] == pytest.approx(20.0)
    low, high = report["interval95Points"]
    # Newcombe (1998), Table II, example (a), method 10: +0.0524 to +0.3339
    assert (round(low / 100, 4), round(high / 100, 4)) == (0.0524, 0.3339)
    chi2, p, _, _ = chi2_contingency([[56, 14], [48, 32]], correction=False)
    assert report["pValue"] == pytest.approx(p) and report["z"] ** 2 == pytest.approx(chi2)
    assert report["verdict"] == "uplift" and p < 0.05
    text = live.cli("proof-mode", "report", client_id, "--as-of", later)
    assert "uplift +20.0 points, 95 % interval +5.2 to +33.4" in text
    assert "Revtain recovers significantly more than the control group" in text
    live.stack.assert_alive()
