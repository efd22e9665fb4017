"""The ``revtain`` command: a plain click group whose commands are imported only when run.

``revtain --help`` lists the commands from the table below without importing Flask or the app, so
it answers at once; ``revtain users add`` imports only its own module, then builds the app.
Flask's own commands (``run``, ``routes``, ``shell``) are deliberately absent: ``revtain dev``
runs everything in development, and production runs gunicorn (see docs/production.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from flask import Flask

    from .models import Client

# name: (module, attribute, the one-line help shown by ``revtain --help``)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "dev": ("revtain.devrun", "dev_command", "Run web, worker and scheduler locally (demo merchant)."),
    "onboard": ("revtain.cli_clients", "onboard_command", "Create a client and print its credentials, once."),
    "clients": ("revtain.cli_clients", "clients_command", "List clients."),
    "rotate-keys": ("revtain.cli_clients", "rotate_keys_command",
                    "New API key and webhook secret; the old key stops within API_KEY_CACHE_SECONDS (5 s)."),
    "users": ("revtain.cli_users", "users_group", "Dashboard users: add, list, remove, reset-password."),
    "webhooks": ("revtain.cli_webhooks", "webhooks_group", "Outgoing webhook events and their deliveries."),
    "domains": ("revtain.cli_webhooks", "domains_group", "Card-update domains (a CNAME to this deployment)."),
    "connectors": ("revtain.cli_connectors", "connectors_group",
                   "Billing-platform connectors (Chargebee, Recurly, ...)."),
    "alerts": ("revtain.cli_alerts", "alerts_group", "Merchant alerts: channels, thresholds, a test alert."),
    "proof-mode": ("revtain.cli_proof_mode", "proof_mode_group",
                   "Proof Mode: an uncharged control group measures the lift."),
    "pre-retry-check": ("revtain.cli_pre_retry", "pre_retry_group",
                        "Ask the merchant's URL before each scheduled retry."),
    "worker": ("revtain.cli_processes", "worker_command", "Run an RQ worker for Revtain's jobs."),
    "scheduler": ("revtain.cli_processes", "scheduler_command",
                  "Enqueue due retries, webhook tries and emails."),
    "db": ("revtain.cli_db", "db_group", "Database migrations: revtain db upgrade."),
}


def create_cli_app() -> Flask:
    """The app a command works on; in development, URLs use the port ``revtain dev`` last ran on."""
    from . import create_app
    from .config import ConfigurationError
    from .devrun import apply_remembered_base_url

    try:
        app = create_app()
    except ConfigurationError as exc:  # said plainly, without a traceback
        raise click.ClickException(str(exc)) from None
    apply_remembered_base_url(app)
    return app


def load(name: str) -> click.Command:
    module, attribute, _ = COMMANDS[name]
    return getattr(importlib.import_module(module), attribute)


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if ctx.obj is None:  # what flask.cli.with_appcontext builds the app from
            from flask.cli import ScriptInfo

            ctx.obj = ScriptInfo(create_app=create_cli_app, set_debug_flag=False)
        return load(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Revtain: recover failed subscription payments.

    Start here: ./scripts/run (or revtain dev) runs everything locally with a demo merchant.
    """


def client_or_fail(client_id: str) -> Client:
    from .extensions import db
    from .models import Client

    client = db.session.get(Client, client_id)
    if client is None:
        raise click.ClickException(f"no client with id {client_id}")
    return client


_client_or_fail = client_or_fail  # the name older command modules import


def init_app(app: Any) -> None:
    """Every command on ``app.cli`` too (``flask --app revtain ...`` and the tests' CLI runner)."""
    for name in COMMANDS:
        app.cli.add_command(load(name), name)
