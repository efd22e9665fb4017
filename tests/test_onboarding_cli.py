"""``revtain onboard``, ``clients`` and ``rotate-keys``: credentials shown once, stored safely."""

from __future__ import annotations

import json
import re

from sqlalchemy import select, text

from revtain.credentials import hash_key
from revtain.extensions import db
from revtain.models import ApiKey, Client


def onboard_json(runner, *extra: str) -> dict:
    result = runner.invoke(
        args=["onboard", "--name", "Acme Inc", "--webhook-url", "https://acme.example/hooks",
              "--json", *extra]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # exactly one JSON object


def test_onboard_json_prints_the_documented_credentials(app, runner):
    creds = onboard_json(runner, "--billing-cycle-day", "15", "--timezone", "Europe/Paris",
                         "--no-dunning", "--card-update-domain", "Pay.Acme.example")
    assert list(creds) == ["clientId", "apiKey", "publishableKey", "webhookSigningSecret",
                           "connectorWebhookUrls"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        creds["clientId"])
    assert re.fullmatch(r"rev_[A-Za-z0-9_-]{32}", creds["apiKey"])
    assert re.fullmatch(r"rev_pk_[A-Za-z0-9_-]{32}", creds["publishableKey"])
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", creds["webhookSigningSecret"])
    assert creds["connectorWebhookUrls"]["chargebee"] == (
        f"http://revtain.test/api/connectors/chargebee/webhook/{creds['clientId']}"
    )
    assert set(creds["connectorWebhookUrls"]) == {"chargebee", "recurly", "stripe-billing",
                                                  "braintree", "zuora", "shopify-recharge"}
    with app.app_context():
        client = db.session.get(Client, creds["clientId"])
        assert client.billing_cycle_day == 15 and client.timezone == "Europe/Paris"
        assert client.dunning_enabled is False
        assert client.card_update_domain == "pay.acme.example"


def test_secrets_are_never_stored_in_clear(app, runner):
    creds = onboard_json(runner)
    with app.app_context():
        dump = "\n".join(
            str(row)
            for table in ("clients", "api_keys")
            for row in db.session.execute(text(f"SELECT * FROM {table}")).all()
        )
        key = db.session.execute(
            select(ApiKey).where(ApiKey.kind == "secret")
        ).scalar_one()
    for secret in (creds["apiKey"], creds["webhookSigningSecret"], creds["publishableKey"]):
        assert secret not in dump
        assert secret.removeprefix("whsec_") not in dump
    assert key.key_hash == hash_key(creds["apiKey"])
    assert key.prefix == creds["apiKey"][:8]


def test_human_output_shows_every_credential_once(runner):
    result = runner.invoke(args=["onboard", "--name", "Acme", "--webhook-url", "https://a.example/h"])
    assert result.exit_code == 0
    for label in ("clientId", "API key", "Publishable key", "Webhook signing secret", "chargebee"):
        assert label in result.output
    assert "Shown once" in result.output


def test_the_issued_key_works_and_rotation_retires_it(app, runner):
    creds = onboard_json(runner)
    client = app.test_client()
    body = {"paymentMethodToken": "pm_1", "amount": 5000}
    assert client.post("/api/recovery/execute", json=body,
                       headers={"X-API-KEY": creds["apiKey"]}).status_code == 200
    result = runner.invoke(args=["rotate-keys", creds["clientId"], "--json"])
    assert result.exit_code == 0, result.output
    rotated = json.loads(result.output)
    assert rotated["clientId"] == creds["clientId"]
    assert rotated["apiKey"] != creds["apiKey"]
    assert rotated["webhookSigningSecret"] != creds["webhookSigningSecret"]
    old = client.post("/api/recovery/execute", json={**body, "paymentMethodToken": "pm_2"},
                      headers={"X-API-KEY": creds["apiKey"]})
    assert old.status_code == 401
    new = client.post("/api/recovery/execute", json={**body, "paymentMethodToken": "pm_2"},
                      headers={"X-API-KEY": rotated["apiKey"]})
    assert new.status_code == 200


def test_clients_lists_every_client(runner):
    creds = onboard_json(runner)
    result = runner.invoke(args=["clients"])
    assert result.exit_code == 0
    assert creds["clientId"] in result.output and "Acme Inc" in result.output


def test_bad_input_is_a_readable_error(runner):
    cases = [
        (["--webhook-url", "http://acme.example/hooks"], "must use https://"),
        (["--timezone", "Mars/Olympus"], "unknown IANA timezone"),
        (["--billing-cycle-day", "32"], "32 is not in the range"),
        (["--gateway", "paypal"], "'paypal' is not one of"),
        (["--gateway", "stripe"], "the stripe gateway needs its credentials"),
        (["--gateway", "stripe", "--stripe-secret-key", "pk_live_oops"], "stripe credentials"),
        (["--gateway", "braintree", "--braintree-merchant-id", "m"], "braintree credentials"),
        (["--backup-gateway", "stripe"], "the stripe gateway needs its credentials"),
        (["--card-update-domain", "not a host"], "host name"),
        (["--brand-primary-color", "blue"], "#4f46e5"),
    ]
    for extra, message in cases:
        args = ["onboard", "--name", "Acme", "--webhook-url", "https://acme.example/h", *extra]
        result = runner.invoke(args=args)
        assert result.exit_code != 0, extra
        assert message in result.output, (extra, result.output)
        assert "Traceback" not in result.output


def test_card_update_domain_belongs_to_one_client(runner):
    onboard_json(runner, "--card-update-domain", "pay.acme.example")
    result = runner.invoke(args=["onboard", "--name", "Other", "--card-update-domain",
                                 "pay.acme.example"])
    assert result.exit_code != 0 and "belongs to another client" in result.output


def test_rotate_keys_of_an_unknown_client(runner):
    result = runner.invoke(args=["rotate-keys", "nope"])
    assert result.exit_code != 0 and "no client with id nope" in result.output


def test_gateway_credentials_are_stored_encrypted(app, runner):
    secret = "sk_test_" + "x" * 24
    creds = onboard_json(runner, "--gateway", "stripe", "--stripe-secret-key", secret,
                         "--backup-gateway", "braintree", "--braintree-merchant-id", "merch",
                         "--braintree-public-key", "pub", "--braintree-private-key", "very-private")
    with app.app_context():
        dump = str(db.session.execute(text("SELECT * FROM clients")).all())
        client = db.session.get(Client, creds["clientId"])
        assert client.gateway == "stripe"
        assert [b["gateway"] for b in client.backup_gateways] == ["braintree"]
        from revtain.crypto import decrypt

        assert json.loads(decrypt(client.gateway_credentials_encrypted)) == {"secret_key": secret}
    assert secret not in dump and "very-private" not in dump


def test_stripe_key_can_come_from_the_environment(app, runner, monkeypatch):
    monkeypatch.setenv("REVTAIN_ONBOARD_STRIPE_SECRET_KEY", "rk_test_" + "y" * 24)
    creds = onboard_json(runner, "--gateway", "stripe")
    with app.app_context():
        assert db.session.get(Client, creds["clientId"]).gateway == "stripe"
