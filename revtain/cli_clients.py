"""``revtain onboard``, ``clients`` and ``rotate-keys``: merchants and their credentials."""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING

import click
from flask.cli import with_appcontext

from .choices import GATEWAYS, PLATFORMS
from .cli_alerts import alert_options, settings_from_options
from .cli_alerts import describe as describe_alerts
from .cli_connectors import connector_credentials, platform_module, print_connector

if TYPE_CHECKING:  # the models and onboarding load only when a command runs
    from .alerts.settings import Settings
    from .onboarding import IssuedCredentials


def print_credentials(issued: IssuedCredentials, heading: str) -> None:
    click.echo(click.style(heading, bold=True))
    click.echo("Shown once. Store them now; Revtain keeps only a hash of the API key.\n")
    click.echo(f"  clientId               {issued.client_id}")
    click.echo(f"  API key (secret)       {issued.api_key}")
    click.echo(f"  Publishable key        {issued.publishable_key}")
    click.echo(f"  Webhook signing secret {issued.webhook_signing_secret}")
    click.echo("\n  Connector webhook URLs:")
    for platform, url in issued.as_json()["connectorWebhookUrls"].items():
        click.echo(f"    {platform:<15} {url}")


@click.command("onboard")
@with_appcontext
@click.option("--name", required=True, help="The merchant's business name.")
@click.option("--webhook-url", help="HTTPS URL that receives Revtain's signed webhooks.")
@click.option("--gateway", default="test", show_default=True,
              type=click.Choice(GATEWAYS), help="Primary gateway.")
@click.option("--stripe-secret-key", envvar="REVTAIN_ONBOARD_STRIPE_SECRET_KEY",
              help="Stripe secret or restricted key (or set REVTAIN_ONBOARD_STRIPE_SECRET_KEY).")
@click.option("--stripe-publishable-key",
              help="Stripe publishable key (pk_…): the card-update page's Stripe Elements need it.")
@click.option("--braintree-merchant-id")
@click.option("--braintree-public-key")
@click.option("--braintree-private-key", envvar="REVTAIN_ONBOARD_BRAINTREE_PRIVATE_KEY",
              help="Or set REVTAIN_ONBOARD_BRAINTREE_PRIVATE_KEY.")
@click.option("--braintree-environment", type=click.Choice(["sandbox", "production"]),
              default="sandbox", show_default=True)
@click.option("--backup-gateway", "backup_gateways", multiple=True,
              type=click.Choice([g for g in GATEWAYS if g != "test"]),
              help="Up to two backup gateways, each with the credentials options of its kind.")
@click.option("--billing-cycle-day", type=click.IntRange(1, 31))
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone.")
@click.option("--dunning/--no-dunning", default=True, show_default=True)
@click.option("--card-update-domain", help="Host name CNAMEd to Revtain, e.g. pay.example.com.")
@click.option("--brand-name")
@click.option("--brand-logo-url")
@click.option("--brand-primary-color", help="Hex colour, e.g. #4f46e5.")
@click.option("--connector", type=click.Choice(PLATFORMS),
              help="Set up a billing-platform connector too (see revtain connectors set).")
@click.option("--connector-set", "connector_pairs", multiple=True, metavar="NAME=VALUE",
              help="A credential of that connector (repeat); or REVTAIN_CONNECTOR_<NAME>, or the prompts.")
@click.option("--connector-hand-off/--no-connector-hand-off", default=None,
              help="Revtain takes failed invoices over and retries them through the platform (default: "
                   "on for Stripe Billing and Chargebee, whose retries Revtain stops; off for Braintree, "
                   "Recurly, Zuora and ReCharge, whose retries you switch off in the platform first).")
@click.option("--proof-mode-share", type=click.IntRange(1, 50), metavar="PERCENT",
              help="Turn Proof Mode on: this share of customers (1-50, typically 10) is a control group "
                   "Revtain never charges, to measure its lift. Off when not given.")
@click.option("--pre-retry-check-url", metavar="URL",
              help="HTTPS URL asked before each scheduled retry whether to go ahead (see README).")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@alert_options
def onboard_command(
    name, webhook_url, gateway, stripe_secret_key, stripe_publishable_key, braintree_merchant_id,
    braintree_public_key,
    braintree_private_key, braintree_environment, backup_gateways, billing_cycle_day, timezone, dunning,
    card_update_domain, brand_name, brand_logo_url, brand_primary_color, connector, connector_pairs,
    connector_hand_off, proof_mode_share, pre_retry_check_url, as_json, **alert_opts,
) -> None:
    """Create a client and print its credentials, once."""
    from .alerts.settings import load as alert_settings_load
    from .alerts.settings import save as save_alert_settings
    from .connectors.accounts import ConnectorSetupError, set_up, validated
    from .extensions import db
    from .models import Client
    from .onboarding import OnboardingError, onboard

    alerts = onboarding_alerts(webhook_url, alert_opts)  # checked before the client exists

    connector_credentials_given = {}
    if connector:
        connector_credentials_given = connector_credentials(platform_module(connector), connector_pairs)
        try:
            validated(connector, connector_credentials_given)  # before the client exists
        except ConnectorSetupError as exc:
            raise click.ClickException(str(exc)) from None
    elif connector_pairs:
        raise click.ClickException("--connector-set needs --connector PLATFORM")
    credentials = {
        "stripe": {
            "secret_key": stripe_secret_key,
            **({"publishable_key": stripe_publishable_key} if stripe_publishable_key else {}),
        } if stripe_secret_key or stripe_publishable_key else None,
        "braintree": {
            "merchant_id": braintree_merchant_id,
            "public_key": braintree_public_key,
            "private_key": braintree_private_key,
            "environment": braintree_environment,
        } if braintree_merchant_id or braintree_private_key else None,
        "test": None,
    }
    try:
        issued = onboard(
            name=name,
            webhook_url=webhook_url,
            gateway=gateway,
            gateway_credentials=credentials[gateway],
            backup_gateways=[(backup, credentials[backup]) for backup in backup_gateways],
            billing_cycle_day=billing_cycle_day,
            timezone=timezone,
            dunning_enabled=dunning,
            card_update_domain=card_update_domain,
            brand_name=brand_name,
            brand_logo_url=brand_logo_url,
            brand_primary_color=brand_primary_color,
            proof_mode_share=proof_mode_share,
            pre_retry_check_url=pre_retry_check_url,
        )
    except OnboardingError as exc:
        raise click.ClickException(str(exc)) from None
    if connector:
        set_up(db.session.get(Client, issued.client_id), connector, connector_credentials_given,
               stop_platform_retries=connector_hand_off)
    if alerts is not None:
        save_alert_settings(db.session.get(Client, issued.client_id), alerts)
    if as_json:
        body = issued.as_json()
        if connector:
            body["connectors"] = [connector]
        if alerts is not None:
            body["notificationChannels"] = list(alerts.channels)
        click.echo(json.dumps(body))
    else:
        print_credentials(issued, f"Onboarded {name}")
        if connector:
            click.echo("\n  Connector set up:")
            print_connector(issued.client_id, connector)
        if alerts is not None:
            click.echo("\n  Merchant alerts:")
            for line in describe_alerts(alert_settings_load(issued.client_id)):
                click.echo(f"    {line}")


def onboarding_alerts(webhook_url: str | None, options: dict) -> Settings | None:
    """The alert settings of ``revtain onboard``'s options, checked; None when none was given."""
    from .alerts.settings import AlertSettingsError, Settings, validated

    if not any(options.values()):
        return None
    settings = settings_from_options(Settings(), **options)
    try:
        return validated(settings, webhook_url=webhook_url, twilio_stored=False)
    except AlertSettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("clients")
@with_appcontext
def clients_command() -> None:
    """List clients."""
    from sqlalchemy import func, select

    from .extensions import db
    from .models import Client, Recovery

    rows = db.session.execute(
        select(Client, func.count(Recovery.id))
        .outerjoin(Recovery, Recovery.client_id == Client.id)
        .group_by(Client.id)
        .order_by(Client.created_at)
    ).all()
    if not rows:
        click.echo("No clients yet. Create one with: revtain onboard --name ... --webhook-url ...")
        return
    click.echo(f"{'clientId':<38}{'name':<28}{'gateway':<10}{'recoveries':>10}  webhook URL")
    for client, count in rows:
        click.echo(
            f"{client.id:<38}{client.name[:26]:<28}{client.gateway:<10}{count:>10}  "
            f"{client.webhook_url or '-'}"
        )


@click.command("rotate-keys")
@with_appcontext
@click.argument("client_id")
@click.option("--json", "as_json", is_flag=True)
def rotate_keys_command(client_id: str, as_json: bool) -> None:
    """Issue a new API key and webhook secret; the old key stops working at once."""
    from .onboarding import OnboardingError, rotate_keys

    try:
        issued = rotate_keys(client_id)
    except OnboardingError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(issued.as_json()))
    else:
        print_credentials(issued, "New credentials")


def curl_example(base_url: str, api_key: str) -> str:
    body = json.dumps(
        {
            "paymentMethodToken": "pm_1234567890",
            "amount": 5000,
            "currency": "USD",
            "originalDeclineCode": "do_not_honor",
            "idempotencyKey": "order_12345_retry_1",
        }
    )
    return (
        f"curl -s -X POST {base_url}/api/recovery/execute \\\n"
        f"  -H 'Content-Type: application/json' \\\n"
        f"  -H 'X-API-KEY: {api_key}' \\\n"
        f"  -d {shlex.quote(body)}"
    )
