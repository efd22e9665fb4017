"""``revtain pre-retry-check``: the URL a client wants asked before each scheduled retry."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from flask.cli import AppGroup

from .choices import PRE_RETRY_MAX_TIMEOUT as MAX_TIMEOUT
from .choices import PRE_RETRY_MIN_TIMEOUT as MIN_TIMEOUT
from .cli import _client_or_fail

if TYPE_CHECKING:  # the models and the recovery code load only when a command runs
    from .models import Client


@click.group("pre-retry-check", cls=AppGroup)
def pre_retry_group() -> None:
    """The pre-retry check: ask the merchant's URL before each scheduled retry whether to go ahead."""


def _state(client: Client) -> str:
    from .recovery.pre_retry import timeout_of

    if not client.pre_retry_check_url:
        return "off (scheduled retries go ahead without asking)"
    return f"{client.pre_retry_check_url} (answer within {timeout_of(client):g} s, else the retry goes ahead)"


@pre_retry_group.command("show")
@click.argument("client_id")
def pre_retry_show(client_id: str) -> None:
    """The client's pre-retry check URL and timeout."""
    client = _client_or_fail(client_id)
    click.echo(f"Pre-retry check for {client.name}: {_state(client)}")


@pre_retry_group.command("set")
@click.argument("client_id")
@click.argument("url")
@click.option(
    "--timeout",
    type=float,
    metavar="SECONDS",
    help=f"Seconds the URL has to answer, {MIN_TIMEOUT:g}-{MAX_TIMEOUT:g} (default PRE_RETRY_CHECK_TIMEOUT).",
)
def pre_retry_set(client_id: str, url: str, timeout: float | None) -> None:
    """Ask URL (https) before each scheduled retry; signed like the webhooks."""
    from .extensions import db
    from .recovery.pre_retry import PreRetryCheckError, configure

    client = _client_or_fail(client_id)
    try:
        configure(client, url=url, timeout=timeout)
    except PreRetryCheckError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Pre-retry check for {client.name}: {_state(client)}")


@pre_retry_group.command("off")
@click.argument("client_id")
def pre_retry_off(client_id: str) -> None:
    """Stop asking: scheduled retries go ahead."""
    from .extensions import db
    from .recovery.pre_retry import configure

    client = _client_or_fail(client_id)
    configure(client, url=None)
    db.session.commit()
    click.echo(f"Pre-retry check for {client.name}: {_state(client)}")
