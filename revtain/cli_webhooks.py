"""``revtain webhooks`` (outgoing events and deliveries) and ``revtain domains`` (card-update domains)."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from .clock import iso
from .extensions import db
from .models import Client, WebhookDelivery, WebhookEvent


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
