"""Proof Mode with a billing-platform connector (Chargebee, its library with only HTTP stubbed):
a held-out invoice is neither charged nor dunned, and the platform's later payment of it counts
as the control group's organic recovery."""

from __future__ import annotations

import pytest

from revtain.connectors import accounts
from revtain.engine import proof_mode
from revtain.extensions import db
from revtain.models import Client, ConnectorEvent, OrganicSuccess, ProofAssignment
from revtain.onboarding import onboard
from tests.support.jobs import run_jobs

from . import chargebee_support as c
from .conftest import charges, count, events, messages, post, publish_dunning, recoveries

PATH = "/api/connectors/chargebee/webhook/{}"


def _customer_in_control(client_id: str) -> bool:
    customer = c.fixture("customer")
    key = proof_mode.customer_key(customer["email"], customer["id"], "unused")
    return proof_mode.assign(proof_mode.fingerprint(client_id, key), 50) == proof_mode.CONTROL


@pytest.fixture
def merchant(app, receiver):
    """A merchant whose 50 % split puts the fixture's customer in the control group (each new
    merchant splits its customers afresh, so a few tries find one)."""
    with app.app_context():
        for n in range(64):
            issued = onboard(name=f"Acme {n}", webhook_url=receiver.url, gateway="test", proof_mode_share=50)
            if _customer_in_control(issued.client_id):
                break
        accounts.set_up(
            db.session.get(Client, issued.client_id), "chargebee", c.CREDENTIALS, stop_platform_retries=False
        )
    publish_dunning(app, issued.client_id)
    return issued


def test_a_held_out_invoice_is_left_alone_and_its_platform_payment_counts(
    app, server, merchant, receiver, monkeypatch
):
    http = c.ChargebeeHttp().install(monkeypatch)
    assert (
        post(server, PATH.format(merchant.client_id), c.payment_failed(), c.basic_auth()).status_code == 200
    )
    run_jobs(app)
    (recovery,) = recoveries(app)
    assert recovery.status == "holdout" and recovery.next_attempt_at is None
    assert events(app)[0].outcome == "recovery_holdout"
    assert charges(app) == [] and messages(app) == [] and http.requests == []
    (hook,) = receiver.wait_for(1)
    assert hook.json["event"] == "recovery.holdout" and hook.json["revtainTransactionId"] == recovery.id
    assert hook.signature_valid(merchant.webhook_signing_secret)

    paid = post(server, PATH.format(merchant.client_id), c.payment_succeeded(), c.basic_auth())
    assert paid.status_code == 200
    run_jobs(app)
    assert [e.outcome for e in events(app)] == ["recovery_holdout", "holdout_paid_elsewhere"]
    with app.app_context():
        assignment = db.session.get(ProofAssignment, recovery.id)
        assert (assignment.proof_group, assignment.paid_via) == ("control", "chargebee")
        assert assignment.paid_at is not None
    (recovery,) = recoveries(app)
    assert recovery.status == "holdout"  # Revtain did not recover it: no recovery.success either
    assert [h.json["event"] for h in receiver.events()] == ["recovery.holdout"]
    assert count(app, OrganicSuccess) == 1
    assert count(app, ConnectorEvent) == 2
    http.assert_done()
