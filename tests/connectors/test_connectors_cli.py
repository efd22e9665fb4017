"""``revtain connectors``: set up, list, events, remove; readable errors for bad input."""

from __future__ import annotations

import pytest

from revtain.connectors import accounts
from revtain.onboarding import onboard

from . import stripe_support as s


@pytest.fixture
def merchant(app, receiver):
    with app.app_context():
        return onboard(name="Acme Inc", webhook_url=receiver.url, gateway="test")


def test_set_list_and_remove(app, runner, merchant):
    r = runner.invoke(args=["connectors", "set", merchant.client_id, "stripe-billing",
                            "--set", f"secret_key={s.SECRET_KEY}",
                            "--set", f"webhook_secret={s.WEBHOOK_SECRET}",
                            "--no-hand-off"])
    assert r.exit_code == 0, r.output
    url = f"http://revtain.test/api/connectors/stripe-billing/webhook/{merchant.client_id}"
    assert url in r.output and "invoice.payment_failed" in r.output
    assert s.SECRET_KEY not in r.output
    with app.app_context():
        account = accounts.get(merchant.client_id, "stripe-billing")
        assert account.stop_platform_retries is False
        assert accounts.credentials_of(account)["webhook_secret"] == s.WEBHOOK_SECRET

    r = runner.invoke(args=["connectors", "list", merchant.client_id])
    assert r.exit_code == 0 and "Stripe Billing (set up, hand-off off)" in r.output and url in r.output

    r = runner.invoke(args=["connectors", "events", merchant.client_id])
    assert r.exit_code == 0 and "received" in r.output

    r = runner.invoke(args=["connectors", "remove", merchant.client_id, "stripe-billing"])
    assert r.exit_code == 0
    with app.app_context():
        assert accounts.get(merchant.client_id, "stripe-billing") is None


def test_credentials_from_the_environment(app, runner, merchant, monkeypatch):
    monkeypatch.setenv("REVTAIN_CONNECTOR_SECRET_KEY", s.SECRET_KEY)
    monkeypatch.setenv("REVTAIN_CONNECTOR_WEBHOOK_SECRET", s.WEBHOOK_SECRET)
    r = runner.invoke(args=["connectors", "set", merchant.client_id, "stripe-billing"])
    assert r.exit_code == 0, r.output
    with app.app_context():
        assert accounts.get(merchant.client_id, "stripe-billing").stop_platform_retries is True


@pytest.mark.parametrize(("args", "message"), [
    (["stripe-billing"], "needs Secret key, Webhook signing secret"),
    (["stripe-billing", "--set", "secret_key"], "--set takes name=value"),
    (["stripe-billing", "--set", "password=x"], "--set takes name=value"),
    (["stripe-billing", "--set", "secret_key=pk_x", "--set", f"webhook_secret={s.WEBHOOK_SECRET}"],
     "starts with sk_ or rk_"),
    (["paddle"], "platform must be one of"),
    (["zuora", "--set", "base_url=https://rest.zuora.example", "--set", "client_id=3b8e6c1f-2a4d",
      "--set", "client_secret=x" * 2, "--set", "webhook_username=revtain",
      "--set", "webhook_password=z0ra-Callout-Pa55word"], "Zuora's REST endpoint is the https URL"),
])
def test_bad_input_is_a_readable_error(runner, merchant, args, message):
    r = runner.invoke(args=["connectors", "set", merchant.client_id, *args])
    assert r.exit_code == 1 and message in r.output, r.output
    assert "Traceback" not in r.output


def test_an_unknown_client_is_a_readable_error(runner):
    r = runner.invoke(args=["connectors", "list", "00000000-0000-4000-8000-000000000000"])
    assert r.exit_code == 1 and "no client with id" in r.output


def test_onboarding_sets_up_a_connector(app, runner):
    import json

    r = runner.invoke(args=["onboard", "--name", "Billing Co", "--connector", "stripe-billing",
                            "--connector-set", f"secret_key={s.SECRET_KEY}",
                            "--connector-set", f"webhook_secret={s.WEBHOOK_SECRET}",
                            "--no-connector-hand-off", "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert body["connectors"] == ["stripe-billing"]
    url = body["connectorWebhookUrls"]["stripe-billing"]
    assert url.endswith(f"/stripe-billing/webhook/{body['clientId']}")
    with app.app_context():
        account = accounts.get(body["clientId"], "stripe-billing")
        assert account.stop_platform_retries is False


def test_onboarding_with_bad_connector_credentials_creates_nothing(app, runner):
    from sqlalchemy import func, select

    from revtain.extensions import db
    from revtain.models import Client

    r = runner.invoke(args=["onboard", "--name", "Billing Co", "--connector", "stripe-billing",
                            "--connector-set", "secret_key=nope"])
    assert r.exit_code == 1 and "needs Webhook signing secret" in r.output, r.output
    r = runner.invoke(args=["onboard", "--name", "Billing Co", "--connector-set", "secret_key=x"])
    assert r.exit_code == 1 and "--connector-set needs --connector" in r.output
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Client)).scalar_one() == 0


def test_a_recurly_connector_starts_without_the_hand_off_and_says_what_to_switch_off(app, runner, merchant):
    from revtain.connectors.recurly import HAND_OFF_BY_SETTING

    from . import recurly_support as r

    given = ["--set", f"api_key={r.API_KEY}", "--set", f"webhook_secret={r.WEBHOOK_SECRET}",
             "--set", f"subdomain={r.SUBDOMAIN}"]
    result = runner.invoke(args=["connectors", "set", merchant.client_id, "recurly", *given])
    assert result.exit_code == 0, result.output
    assert f"Before turning the hand-off on: {HAND_OFF_BY_SETTING}" in result.output
    with app.app_context():
        assert accounts.get(merchant.client_id, "recurly").stop_platform_retries is False
    result = runner.invoke(args=["connectors", "list", merchant.client_id])
    assert "Recurly (set up, hand-off off)" in result.output and HAND_OFF_BY_SETTING in result.output

    result = runner.invoke(args=["connectors", "set", merchant.client_id, "recurly", *given, "--hand-off"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert accounts.get(merchant.client_id, "recurly").stop_platform_retries is True
    result = runner.invoke(args=["connectors", "list", merchant.client_id])
    assert "Recurly (set up, hand-off on)" in result.output


def test_zuora_and_recharge_are_set_up_from_the_cli_and_at_onboarding(app, runner, merchant):
    import json

    from revtain.connectors import recharge, zuora

    from . import recharge_support as rc
    from . import zuora_support as z

    given = [f"--set={name}={value}" for name, value in z.CREDENTIALS.items()]
    result = runner.invoke(args=["connectors", "set", merchant.client_id, "zuora", *given])
    assert result.exit_code == 0, result.output
    assert f"/api/connectors/zuora/webhook/{merchant.client_id}" in result.output
    assert '"event": "Payment.Failure"' in result.output and z.CLIENT_SECRET not in result.output
    assert f"Before turning the hand-off on: {zuora.HAND_OFF_BY_SETTING}" in result.output
    with app.app_context():
        account = accounts.get(merchant.client_id, "zuora")
        assert account.stop_platform_retries is False
        assert accounts.credentials_of(account)["base_url"] == z.BASE_URL

    result = runner.invoke(args=["onboard", "--name", "Acme Coffee", "--connector", "shopify-recharge",
                                 "--connector-set", f"api_token={rc.API_TOKEN}",
                                 "--connector-set", f"client_secret={rc.CLIENT_SECRET}", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["connectors"] == ["shopify-recharge"]
    url = body["connectorWebhookUrls"]["shopify-recharge"]
    assert url.endswith(f"/shopify-recharge/webhook/{body['clientId']}")
    with app.app_context():
        account = accounts.get(body["clientId"], "shopify-recharge")
        assert account.stop_platform_retries is False
        assert accounts.credentials_of(account)["client_secret"] == rc.CLIENT_SECRET
    result = runner.invoke(args=["connectors", "list", body["clientId"]])
    assert "Shopify ReCharge (set up, hand-off off)" in result.output
    assert recharge.HAND_OFF_BY_SETTING in result.output
