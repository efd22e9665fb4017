"""Proof Mode (contract 9.4) through the API, the real RQ worker (in-process, burst mode) and the
scheduler, on the injectable clock: who is held out, that a held-out payment is never charged or
dunned, ``recovery.holdout``, pulse for held-out invoices, the CFO report's Proof of Lift, and the
settings (dashboard, CLI, onboarding)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from scipy.stats import chi2_contingency
from sqlalchemy import func, select
from standardwebhooks import Webhook

from revtain.dashboard.accounts import create_user
from revtain.dunning import sequences
from revtain.dunning.sequences import StepSpec
from revtain.extensions import db
from revtain.models import Attempt, Client, Message, MessageTemplate, ProofAssignment, Recovery
from revtain.onboarding import onboard
from tests.support.jobs import run_jobs, sweep
from tests.support.proof_mode import emails_in
from tests.test_dashboard import PASSWORD, csrf_of, login, text

SHARE = 50
HOLDOUT_MESSAGE = "Proof mode control group: Revtain made no recovery attempt for this payment."


@pytest.fixture
def app(make_app):
    return make_app(EXECUTE_RATE_LIMIT="100000 per minute")


@pytest.fixture
def proof_merchant(app, receiver):
    """A test-gateway merchant with Proof Mode on at 50 % and a published dunning sequence."""
    with app.app_context():
        issued = onboard(name="Proof Co", webhook_url=receiver.url, gateway="test", proof_mode_share=SHARE)
        client = db.session.get(Client, issued.client_id)
        template = db.session.execute(
            select(MessageTemplate).where(MessageTemplate.client_id == client.id).limit(1)
        ).scalar_one()
        sequences.publish(sequences.create_sequence(client, "Default", [StepSpec(template.id, 0, "any")]))
    return issued


@pytest.fixture
def api(proof_merchant):
    return {"X-API-KEY": proof_merchant.api_key}


def execute(client, headers, **body):
    payload = {
        "paymentMethodToken": "pm_good",
        "amount": 4900,
        "currency": "USD",
        "originalDeclineCode": "insufficient_funds",
        **body,
    }
    return client.post("/api/recovery/execute", json=payload, headers=headers)


def status_of(client, headers, tx):
    return client.get(f"/api/recovery/status/{tx}", headers=headers).get_json()


def clock(app):
    return app.extensions["revtain.clock"]


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


# --- who is held out ----------------------------------------------------------------------------


def test_proof_mode_is_off_by_default_and_nothing_is_held_out(app, client, headers, merchant):
    with app.app_context():
        assert db.session.get(Client, merchant.client_id).proof_mode_enabled is False
    for i in range(20):
        r = execute(
            client,
            headers,
            paymentMethodToken=f"pm_{i}",
            customerEmail=f"c{i}@example.com",
            originalDeclineCode="do_not_honor",
        )
        assert r.status_code == 200 and r.get_json()["success"] is True
        assert "holdout" not in r.get_json()
        assert status_of(client, headers, r.get_json()["transactionId"])["holdout"] is False
    assert count(app, ProofAssignment) == 0


def test_a_held_out_payment_is_answered_at_once_and_never_charged_retried_or_dunned(
    app, client, api, proof_merchant, receiver
):
    (control,) = emails_in(proof_merchant.client_id, "control", 1, SHARE)
    (treated,) = emails_in(proof_merchant.client_id, "treatment", 1, SHARE)
    r = execute(client, api, paymentMethodToken="pm_held", customerEmail=control, idempotencyKey="inv_1")
    assert r.status_code == 200
    body = r.get_json()
    tx = body["transactionId"]
    assert list(body) == [
        "success",
        "status",
        "holdout",
        "message",
        "error",
        "transactionId",
        "strategyUsed",
        "gatewaysAttempted",
        "recoveryEngineApplied",
        "ai",
        "recommendedAction",
        "recommendedActionReason",
    ]
    assert body["success"] is False and body["status"] == "holdout" and body["holdout"] is True
    assert body["message"] == HOLDOUT_MESSAGE and body["gatewaysAttempted"] == 0
    assert body["recoveryEngineApplied"] is False and body["recommendedAction"] == "monitor"

    run_jobs(app)
    (hook,) = receiver.wait_for(1)
    assert hook.signature_valid(proof_merchant.webhook_signing_secret)
    Webhook(proof_merchant.webhook_signing_secret).verify(hook.body, hook.headers)  # reference library
    assert list(hook.json) == [
        "event",
        "clientId",
        "paymentMethodToken",
        "amount",
        "currency",
        "customerEmail",
        "message",
        "holdout",
        "revtainTransactionId",
        "idempotencyKey",
        "recoveryState",  # our addition: "holdout"
        "eventId",
    ]
    assert hook.json["event"] == "recovery.holdout" and hook.json["clientId"] == proof_merchant.client_id
    assert hook.json["paymentMethodToken"] == "pm_held" and hook.json["amount"] == 4900
    assert hook.json["customerEmail"] == control and hook.json["message"] == HOLDOUT_MESSAGE
    assert hook.json["revtainTransactionId"] == tx and hook.json["holdout"] is True

    # The same decline for a treatment customer is queued, charged later and dunned: the checks
    # below could fail.
    treated_tx = execute(
        client,
        api,
        paymentMethodToken="test_decline_insufficient_funds",
        customerEmail=treated,
        idempotencyKey="inv_2",
    ).get_json()["transactionId"]
    for _ in range(31):  # a month of scheduler ticks and jobs
        clock(app).freeze(clock(app).now() + timedelta(days=1))
        sweep(app)
    status = status_of(client, api, tx)
    assert status["status"] == "unknown" and status["pending"] is False and status["holdout"] is True
    assert status["attemptCount"] == 0 and status["recovered"] is False and "nextRetryAt" not in status
    assert count(app, Attempt, Attempt.recovery_id == tx) == 0
    assert count(app, Message, Message.recovery_id == tx) == 0
    assert count(app, Attempt, Attempt.recovery_id == treated_tx) >= 1
    assert count(app, Message, Message.recovery_id == treated_tx) >= 1
    assert [h.json["event"] for h in receiver.events() if h.json.get("revtainTransactionId") == tx] == [
        "recovery.holdout"
    ]
    with app.app_context():
        assert db.session.get(Recovery, tx).status == "holdout"


def test_the_group_sticks_to_the_customer_across_resubmits_and_later_failures(
    app, client, api, proof_merchant
):
    (control,) = emails_in(proof_merchant.client_id, "control", 1, SHARE)
    (treated,) = emails_in(proof_merchant.client_id, "treatment", 1, SHARE)
    for i, email in enumerate([control, control.upper(), control.capitalize()]):
        r = execute(
            client,
            api,
            paymentMethodToken=f"pm_new_card_{i}",
            amount=1000 + i,
            customerEmail=email,
            idempotencyKey=f"inv_c_{i}",
            originalDeclineCode=["insufficient_funds", "do_not_honor", "expired_card"][i],
        )
        assert r.status_code == 200 and r.get_json()["holdout"] is True, r.get_json()
    for i in range(3):
        r = execute(
            client,
            api,
            paymentMethodToken=f"pm_t_{i}",
            amount=2000 + i,
            customerEmail=treated,
            originalDeclineCode="do_not_honor",
        )
        assert r.status_code == 200 and r.get_json()["success"] is True, r.get_json()

    # Without an email the card is the customer: the same token twice, the same group.
    groups = set()
    for i in range(2):
        r = execute(
            client, api, paymentMethodToken="pm_no_email", amount=3000 + i, originalDeclineCode="do_not_honor"
        )
        groups.add(r.get_json().get("holdout", False))
    assert len(groups) == 1

    # Turning the share down later does not move a customer already held out.
    with app.app_context():
        db.session.get(Client, proof_merchant.client_id).proof_mode_share = 1
        db.session.commit()
    r = execute(client, api, paymentMethodToken="pm_later", amount=4000, customerEmail=control)
    assert r.get_json()["holdout"] is True


def test_a_blocked_code_in_the_control_group_is_held_out_too(app, client, api, proof_merchant):
    """Contract 3.1's order: the holdout check comes before decline routing."""
    (control,) = emails_in(proof_merchant.client_id, "control", 1, SHARE)
    (treated,) = emails_in(proof_merchant.client_id, "treatment", 1, SHARE)
    held = execute(client, api, originalDeclineCode="fraudulent", customerEmail=control)
    assert held.status_code == 200 and held.get_json()["status"] == "holdout"
    blocked = execute(client, api, originalDeclineCode="fraudulent", customerEmail=treated, amount=5100)
    assert blocked.status_code == 403 and blocked.get_json()["action"] == "blocked"


def test_turned_off_nobody_is_held_out_and_held_out_payments_stay_held_out(app, client, api, proof_merchant):
    (control,) = emails_in(proof_merchant.client_id, "control", 1, SHARE)
    tx = execute(client, api, customerEmail=control).get_json()["transactionId"]
    with app.app_context():
        db.session.get(Client, proof_merchant.client_id).proof_mode_enabled = False
        db.session.commit()
    r = execute(client, api, customerEmail=control, amount=5200, originalDeclineCode="do_not_honor")
    assert r.status_code == 200 and r.get_json()["success"] is True
    assert status_of(client, api, tx)["holdout"] is True


# --- organic payments of held-out invoices -----------------------------------------------------


def test_pulse_records_that_a_held_out_invoice_was_paid(app, client, api, proof_merchant):
    first, second = emails_in(proof_merchant.client_id, "control", 2, SHARE)
    by_key = execute(client, api, customerEmail=first, idempotencyKey="inv_77").get_json()["transactionId"]
    by_id = execute(client, api, customerEmail=second, amount=5300).get_json()["transactionId"]
    clock(app).freeze(clock(app).now() + timedelta(days=3))
    for reference in ("inv_77", by_id, "inv_unrelated"):
        r = client.post("/api/recovery/pulse", headers=api, json={"amount": 4900, "transactionId": reference})
        assert r.get_json() == {
            "success": True,
            "message": "Organic success logged",
            "transactionId": reference,
        }
    paid_at = clock(app).now()
    clock(app).freeze(paid_at + timedelta(days=1))
    client.post("/api/recovery/pulse", headers=api, json={"amount": 4900, "transactionId": "inv_77"})
    with app.app_context():
        for tx in (by_key, by_id):
            assignment = db.session.get(ProofAssignment, tx)
            assert (assignment.paid_via, assignment.paid_at) == ("pulse", paid_at)  # the first report counts
            assert db.session.get(Recovery, tx).status == "holdout"
    assert count(app, ProofAssignment, ProofAssignment.paid_at.is_not(None)) == 2


# --- the CFO report -------------------------------------------------------------------------------


def _report(client) -> str:
    r = client.get("/dashboard/reports/cfo")
    assert r.status_code == 200
    return text(r)


def test_the_cfo_report_measures_then_gives_the_uplift_interval_and_verdict(app, client, api, proof_merchant):
    """Newcombe (1998), Table II, example (a): 56 of 70 against 48 of 80; method 10 gives the 95 %
    interval +0.0524 to +0.3339. The p-value is SciPy's Pearson chi-square test of the same table."""
    treated = emails_in(proof_merchant.client_id, "treatment", 71, SHARE, prefix="t")
    held = emails_in(proof_merchant.client_id, "control", 81, SHARE, prefix="c")
    for i, email in enumerate(treated[:70]):
        recovers = i < 56
        r = execute(
            client,
            api,
            paymentMethodToken=f"pm_ok_{i}" if recovers else "test_decline_card_declined",
            originalDeclineCode="do_not_honor" if recovers else "card_declined",
            amount=1000 + i,
            customerEmail=email,
            idempotencyKey=f"t_{i}",
        )
        assert r.status_code in (200, 202) and r.get_json()["success"] is recovers, (i, r.get_json())
    for i, email in enumerate(held[:80]):
        r = execute(client, api, amount=1000 + i, customerEmail=email, idempotencyKey=f"c_{i}")
        assert r.get_json()["holdout"] is True
    # a simulated (sandbox) payment in either group is left out of the figures
    for email in (treated[70], held[80]):
        r = execute(
            client,
            api,
            customerEmail=email,
            simulateOutcome="success",
            paymentMethodToken=email,
            originalDeclineCode="do_not_honor",
        )
        assert r.status_code == 200
    clock(app).freeze(clock(app).now() + timedelta(days=10))
    for i in range(48):
        client.post("/api/recovery/pulse", headers=api, json={"amount": 1000 + i, "transactionId": f"c_{i}"})
    for _ in range(3):  # the treatment failures' retries run out
        clock(app).freeze(clock(app).now() + timedelta(minutes=5))
        sweep(app)

    with app.app_context():
        create_user(proof_merchant.client_id, "cfo@proof.example", "finance", PASSWORD)
    assert login(client, "cfo@proof.example").status_code == 302
    page = _report(client)
    assert "Proof of Lift" in page and "Measurement in progress" in page
    assert "the treatment group has 0 of the 30 counted invoices needed" in page.lower()

    clock(app).freeze(clock(app).now() + timedelta(days=25))  # 35 days after the failures
    late = {"amount": 1048, "transactionId": "c_48"}  # paid after its 30-day window: not counted
    client.post("/api/recovery/pulse", headers=api, json=late)
    page = _report(client)
    assert "Measurement in progress" not in page
    assert re.search(r'data-rate="treatment">80\.0 %', page)
    assert re.search(r'data-rate="control">60\.0 %', page)
    assert "+20.0 percentage points" in page
    assert "+5.2 to +33.4 points" in page  # Newcombe: 0.0524 to 0.3339
    _, p, _, _ = chi2_contingency([[56, 14], [48, 32]], correction=False)
    assert f"p = {p:.3f}" in page and p < 0.05
    assert 'data-verdict="uplift"' in page
    assert "Revtain recovers significantly more than the control group" in page


# --- settings: dashboard (admins), CLI, onboarding ------------------------------------------------


def _post_settings(client, data):
    token = csrf_of(client.get("/dashboard/settings").get_data(as_text=True))
    return client.post("/dashboard/settings/proof-mode", data={"proof-csrf_token": token, **data})


def test_admins_turn_proof_mode_on_and_off_in_the_dashboard(app, client, merchant):
    with app.app_context():
        for role in ("admin", "finance", "marketing"):
            create_user(merchant.client_id, f"{role}@acme.example", role, PASSWORD)
    assert login(client, "admin@acme.example").status_code == 302
    page = text(client.get("/dashboard/settings"))
    assert "Proof Mode" in page and 'name="proof-share"' in page and 'value="10"' in page

    r = _post_settings(client, {"proof-enabled": "y", "proof-share": "51"})
    assert r.status_code == 400 and "The share must be from 1 to 50 %." in text(r)
    r = _post_settings(client, {"proof-enabled": "y", "proof-share": ""})
    assert r.status_code == 400 and "Enter a share from 1 to 50." in text(r)
    r = _post_settings(client, {"proof-enabled": "y", "proof-share": "15"})
    assert r.status_code == 302
    assert "Proof Mode is on: 15 % of customers are held out." in text(client.get("/dashboard/settings"))
    with app.app_context():
        saved = db.session.get(Client, merchant.client_id)
        assert (saved.proof_mode_enabled, saved.proof_mode_share) == (True, 15)
    assert _post_settings(client, {"proof-share": "15"}).status_code == 302  # unticked: off
    with app.app_context():
        saved = db.session.get(Client, merchant.client_id)
        assert (saved.proof_mode_enabled, saved.proof_mode_share) == (False, 15)

    for role in ("finance", "marketing"):
        other = app.test_client()
        assert login(other, f"{role}@acme.example").status_code == 302
        assert 'name="proof-share"' not in text(other.get("/dashboard/settings"))
        assert other.post("/dashboard/settings/proof-mode", data={"proof-share": "20"}).status_code == 403


def test_the_cli_turns_proof_mode_on_and_off_and_prints_the_report(app, runner, merchant):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["proof-mode", "report", merchant.client_id])
    assert r.exit_code == 1 and "has never had Proof Mode on" in r.output
    r = runner.invoke(args=["proof-mode", "on", merchant.client_id, "--share", "60"])
    assert r.exit_code == 1 and "from 1 to 50 (got 60)" in r.output
    r = runner.invoke(args=["proof-mode", "on", merchant.client_id, "--share", "20"])
    assert r.exit_code == 0 and "on: 20 % of customers are held out" in r.output, r.output
    assert "on: 20 %" in runner.invoke(args=["proof-mode", "show", merchant.client_id]).output
    r = runner.invoke(args=["proof-mode", "report", merchant.client_id, "--json"])
    report = json.loads(r.output)
    assert report["verdict"] == "in_progress" and report["share"] == 20
    assert report["treatment"] == {"invoices": 0, "recovered": 0, "rate": None, "observing": 0}
    assert "off (share 20 %" in runner.invoke(args=["proof-mode", "off", merchant.client_id]).output
    assert runner.invoke(args=["proof-mode", "show", "no-such-client"]).exit_code == 1


def test_onboarding_can_turn_proof_mode_on(app):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["onboard", "--name", "Too Much", "--proof-mode-share", "51"])
    assert r.exit_code == 2 and "--proof-mode-share" in r.output
    r = runner.invoke(args=["onboard", "--name", "Proof Inc", "--proof-mode-share", "12", "--json"])
    assert r.exit_code == 0, r.output
    with app.app_context():
        client = db.session.get(Client, json.loads(r.output)["clientId"])
        assert (client.proof_mode_enabled, client.proof_mode_share) == (True, 12)
        plain = onboard(name="Plain Inc", webhook_url=None)
        assert db.session.get(Client, plain.client_id).proof_mode_enabled is False
