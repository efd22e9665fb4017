"""``revtain connectors``: billing-platform connectors, and the helpers ``onboard`` shares."""

from __future__ import annotations

import os
import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from .cli import client_or_fail
from .clock import iso
from .extensions import db


@click.group("connectors", cls=AppGroup)
def connectors_group() -> None:
    """Billing-platform connectors (Chargebee, Recurly, Stripe Billing, Braintree, Zuora, ReCharge)."""


def platform_module(platform: str):
    from .connectors import MODULES

    if platform not in MODULES:
        raise click.ClickException(f"platform must be one of {', '.join(MODULES)} (got {platform!r})")
    return MODULES[platform]


def connector_credentials(module, pairs: tuple[str, ...]) -> dict[str, str]:
    """``--set name=value`` pairs, then ``REVTAIN_CONNECTOR_<NAME>`` variables, then a prompt (hidden
    for secrets) when a person is at the terminal."""

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

    client = client_or_fail(client_id)
    module = platform_module(platform)
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

    client = client_or_fail(client_id)
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

    client = client_or_fail(client_id)
    module = platform_module(platform)
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

    client = client_or_fail(client_id)
    rows = db.session.execute(
        select(ConnectorEvent).where(ConnectorEvent.client_id == client.id)
        .order_by(ConnectorEvent.received_at.desc()).limit(limit)
    ).scalars()
    click.echo(f"{'received':<26}{'platform':<16}{'event':<36}{'state':<11}outcome")
    for event in rows:
        click.echo(f"{iso(event.received_at):<26}{event.platform:<16}{event.event_type[:34]:<36}"
                   f"{event.status:<11}{event.outcome or event.error or ''}")
