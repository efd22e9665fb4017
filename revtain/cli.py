"""The ``revtain`` command: onboard, rotate keys, webhooks, users, worker, scheduler, dev; plus ``db``."""

from __future__ import annotations

import json
import logging
import shlex
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, NoAppException, with_appcontext
from sqlalchemy import func, select

from .alerts.settings import AlertSettingsError, Settings, validated
from .alerts.settings import load as alert_settings_load
from .alerts.settings import save as save_alert_settings
from .cli_alerts import alert_options, alerts_group, settings_from_options
from .cli_alerts import describe as describe_alerts
from .clock import iso
from .extensions import db
from .models import Client, Recovery, WebhookDelivery, WebhookEvent
from .onboarding import CONNECTOR_PLATFORMS, IssuedCredentials, OnboardingError, onboard, rotate_keys


def _create_app() -> Flask:
    from . import create_app
    from .config import ConfigurationError

    try:
        return create_app()
    except ConfigurationError as exc:  # said plainly, without a traceback (also under --help)
        raise NoAppException(str(exc)) from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Revtain: recover failed subscription payments."""


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
              type=click.Choice(["test", "stripe", "braintree"]), help="Primary gateway.")
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
              type=click.Choice(["stripe", "braintree"]),
              help="Up to two backup gateways, each with the credentials options of its kind.")
@click.option("--billing-cycle-day", type=click.IntRange(1, 31))
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone.")
@click.option("--dunning/--no-dunning", default=True, show_default=True)
@click.option("--card-update-domain", help="Host name CNAMEd to Revtain, e.g. pay.example.com.")
@click.option("--brand-name")
@click.option("--brand-logo-url")
@click.option("--brand-primary-color", help="Hex colour, e.g. #6366f1.")
@click.option("--connector", type=click.Choice(CONNECTOR_PLATFORMS),
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
    from .connectors.accounts import ConnectorSetupError, set_up, validated

    alerts = onboarding_alerts(webhook_url, alert_opts)  # checked before the client exists

    connector_credentials_given = {}
    if connector:
        connector_credentials_given = connector_credentials(_platform_module(connector), connector_pairs)
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
    try:
        issued = rotate_keys(client_id)
    except OnboardingError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(issued.as_json()))
    else:
        print_credentials(issued, "New credentials")


@click.group("webhooks", cls=AppGroup)
def webhooks_group() -> None:
    """Outgoing webhook events and their deliveries."""


@webhooks_group.command("list")
@click.argument("client_id")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def webhooks_list(client_id: str, limit: int) -> None:
    """The client's latest events, each with its delivery state."""
    if db.session.get(Client, client_id) is None:
        raise click.ClickException(f"no client with id {client_id}")
    events = db.session.execute(
        select(WebhookEvent)
        .where(WebhookEvent.client_id == client_id)
        .order_by(WebhookEvent.created_at.desc(), WebhookEvent.id.desc())
        .limit(limit)
    ).scalars()
    click.echo(f"{'eventId':<28}{'event':<20}{'created':<26}{'delivery':<11}{'tries':>5}  last")
    for event in events:
        delivery: WebhookDelivery | None = event.deliveries[-1] if event.deliveries else None
        state = delivery.status if delivery else "no URL"
        tries = delivery.tries if delivery else 0
        last = ""
        if delivery and (delivery.last_status_code or delivery.last_error):
            last = delivery.last_error or f"HTTP {delivery.last_status_code}"
        click.echo(
            f"{event.id:<28}{event.type:<20}{iso(event.created_at):<26}{state:<11}{tries:>5}  {last}"
        )


@webhooks_group.command("replay")
@click.argument("event_id")
def webhooks_replay(event_id: str) -> None:
    """Deliver an event again (same bytes, same eventId) to the client's webhook URL."""
    from .webhooks.outbox import EventNotFound, replay

    try:
        delivery = replay(event_id)
    except EventNotFound as exc:
        raise click.ClickException(f"cannot replay: no such event or no webhook URL ({exc})") from None
    click.echo(f"Replaying event {event_id} as delivery {delivery.id} to {delivery.url}")


@click.group("domains", cls=AppGroup)
def domains_group() -> None:
    """Card-update domains (a CNAME from the merchant's domain to Revtain)."""


@domains_group.command("verify")
@click.argument("client_id")
@click.option("--force", is_flag=True, help="Mark verified without the DNS check (checked by hand).")
def domains_verify(client_id: str, force: bool) -> None:
    """Check that the client's cardUpdateDomain points at this deployment, then serve it."""
    from .cardupdate.domains import DomainCheckFailed, verify

    client = db.session.get(Client, client_id)
    if client is None:
        raise click.ClickException(f"no client with id {client_id}")
    try:
        verify(client, force=force)
    except DomainCheckFailed as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{client.card_update_domain} is verified; card-update links now use it.")


@click.group("users", cls=AppGroup)
def users_group() -> None:
    """Dashboard users (a client's team)."""


@users_group.command("add")
@click.argument("client_id")
@click.argument("email")
@click.option("--role", default="admin", show_default=True, help="admin, marketing or finance.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def users_add(client_id: str, email: str, role: str, password_stdin: bool) -> None:
    """Add a dashboard user to a client (prompts for the password twice)."""
    from .dashboard.accounts import AccountError, create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(client_id, email, role, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Added {user.email} ({user.role}); they can sign in at "
               f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/dashboard/login")


@users_group.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def users_set_password(email: str, password_stdin: bool) -> None:
    """Set a new password for a dashboard user; every session of theirs ends."""
    from .dashboard.accounts import AccountError, reset_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        user = reset_password(email, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"New password set for {user.email}; their other sessions were ended.")


@click.group("connectors", cls=AppGroup)
def connectors_group() -> None:
    """Billing-platform connectors (Chargebee, Recurly, Stripe Billing, Braintree, Zuora, ReCharge)."""


def _client_or_fail(client_id: str) -> Client:
    client = db.session.get(Client, client_id)
    if client is None:
        raise click.ClickException(f"no client with id {client_id}")
    return client


def _platform_module(platform: str):
    from .connectors import MODULES

    if platform not in MODULES:
        raise click.ClickException(f"platform must be one of {', '.join(MODULES)} (got {platform!r})")
    return MODULES[platform]


def connector_credentials(module, pairs: tuple[str, ...]) -> dict[str, str]:
    """``--set name=value`` pairs, then ``REVTAIN_CONNECTOR_<NAME>`` variables, then a prompt (hidden
    for secrets) when a person is at the terminal."""
    import os

    given: dict[str, str] = {}
    names = {f.name for f in module.CREDENTIALS}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in names:
            raise click.ClickException(
                f"--set takes name=value with a name among {', '.join(sorted(names))} (got {pair!r})")
        given[name] = value
    for field in module.CREDENTIALS:
        if given.get(field.name):
            continue
        from_env = os.environ.get(f"REVTAIN_CONNECTOR_{field.name.upper()}")
        if from_env:
            given[field.name] = from_env
        elif field.required and sys.stdin.isatty():
            given[field.name] = click.prompt(field.label, hide_input=field.secret)
    return given


def print_connector(client_id: str, platform: str) -> None:
    from .connectors.accounts import instructions

    info = instructions(client_id, platform)
    click.echo(f"  {info.label}: paste {info.url}")
    click.echo(f"    {info.setup}")
    if info.hand_off_by_setting:
        click.echo(f"    Before turning the hand-off on: {info.hand_off_by_setting}")


@connectors_group.command("set")
@click.argument("client_id")
@click.argument("platform")
@click.option("--set", "pairs", multiple=True, metavar="NAME=VALUE",
              help="A credential (repeat). Or REVTAIN_CONNECTOR_<NAME>, or answer the prompts.")
@click.option("--hand-off/--no-hand-off", default=None,
              help="Revtain takes failed invoices over and retries them through the platform (default: "
                   "on for Stripe Billing and Chargebee, whose retries Revtain stops; off for Braintree, "
                   "Recurly, Zuora and ReCharge, whose retries you switch off in the platform first).")
def connectors_set(client_id: str, platform: str, pairs: tuple[str, ...], hand_off: bool | None) -> None:
    """Set up (or replace) a client's connector; credentials are stored encrypted."""
    from .connectors.accounts import ConnectorSetupError, set_up

    client = _client_or_fail(client_id)
    module = _platform_module(platform)
    try:
        set_up(client, platform, connector_credentials(module, pairs), stop_platform_retries=hand_off)
    except ConnectorSetupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{module.LABEL} connector set up for {client.name}.")
    print_connector(client.id, platform)


@connectors_group.command("list")
@click.argument("client_id")
def connectors_list(client_id: str) -> None:
    """The client's connectors, the URL to paste into each platform, and the hand-off setting."""
    from .connectors import MODULES
    from .connectors.accounts import for_client

    client = _client_or_fail(client_id)
    set_up = {a.platform: a for a in for_client(client.id)}
    for platform, module in MODULES.items():
        account = set_up.get(platform)
        state = "not set up" if account is None else (
            "set up, hand-off on" if account.stop_platform_retries else "set up, hand-off off")
        click.echo(f"{module.LABEL} ({state})")
        print_connector(client.id, platform)


@connectors_group.command("remove")
@click.argument("client_id")
@click.argument("platform")
def connectors_remove(client_id: str, platform: str) -> None:
    """Stop accepting a platform's webhooks for a client (stored events and recoveries stay)."""
    from .connectors.accounts import get, remove

    client = _client_or_fail(client_id)
    module = _platform_module(platform)
    account = get(client.id, platform)
    if account is None:
        raise click.ClickException(f"{client.name} has no {module.LABEL} connector")
    remove(account)
    click.echo(f"{module.LABEL} connector removed for {client.name}.")


@connectors_group.command("events")
@click.argument("client_id")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def connectors_events(client_id: str, limit: int) -> None:
    """What the platforms sent lately, and what Revtain did with each event."""
    from .models import ConnectorEvent

    client = _client_or_fail(client_id)
    rows = db.session.execute(
        select(ConnectorEvent).where(ConnectorEvent.client_id == client.id)
        .order_by(ConnectorEvent.received_at.desc()).limit(limit)
    ).scalars()
    click.echo(f"{'received':<26}{'platform':<16}{'event':<36}{'state':<11}outcome")
    for event in rows:
        click.echo(f"{iso(event.received_at):<26}{event.platform:<16}{event.event_type[:34]:<36}"
                   f"{event.status:<11}{event.outcome or event.error or ''}")


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Work until the queues are empty, then exit.")
@click.option("--queue", "queue_names", multiple=True, help="Queues to listen on (default: all).")
def worker_command(burst: bool, queue_names: tuple[str, ...]) -> None:
    """Run an RQ worker for Revtain's jobs."""
    from .queues import ALL
    from .worker import make_worker

    worker = make_worker(current_app._get_current_object(), queue_names or ALL)  # type: ignore[attr-defined]
    worker.work(burst=burst, logging_level="INFO")


@click.command("scheduler")
@with_appcontext
@click.option("--once", is_flag=True, help="Enqueue what is due now and exit.")
def scheduler_command(once: bool) -> None:
    """Enqueue due retries and webhook tries, every SCHEDULER_INTERVAL_SECONDS."""
    from .scheduler import run_forever, tick

    logging.basicConfig(level=logging.INFO, format="%(asctime)s scheduler %(message)s")
    if once:
        click.echo(json.dumps(tick()))
        return
    run_forever(float(current_app.config["SCHEDULER_INTERVAL_SECONDS"]))


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


def init_app(app: Flask) -> None:
    from .cli_pre_retry import pre_retry_group
    from .cli_proof_mode import proof_mode_group
    from .devrun import dev_command

    for command in (
        onboard_command, clients_command, rotate_keys_command, webhooks_group, domains_group, users_group,
        connectors_group, proof_mode_group, pre_retry_group, alerts_group,
        worker_command,
        scheduler_command, dev_command,
    ):
        app.cli.add_command(command)
