"""``revtain users``: dashboard users (a client's team): add, list, remove, reset-password."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from .roles import ROLES


@click.group("users", cls=AppGroup)
def users_group() -> None:
    """Dashboard users (a client's team)."""


def _password(password_stdin: bool, prompt: str) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True)


def login_url() -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/dashboard/login"


@users_group.command("add")
@click.argument("client_id")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True,
              help="admin: everything; marketing: dunning emails; finance: reports.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def users_add(client_id: str, email: str, role: str, password_stdin: bool) -> None:
    """Add a dashboard user to a client (prompts for the password twice)."""
    from .dashboard.accounts import AccountError, create_user

    password = _password(password_stdin, "Password")
    try:
        user = create_user(client_id, email, role, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Added {user.email} ({user.role}); they can sign in at {login_url()}")


@users_group.command("list")
@click.argument("client_id", required=False)
def users_list(client_id: str | None) -> None:
    """Dashboard users, of one client or of all."""
    from sqlalchemy import select

    from .clock import iso
    from .extensions import db
    from .models import Client, User

    query = select(User, Client.name).join(Client, Client.id == User.client_id)
    if client_id:
        from .cli import client_or_fail

        client_or_fail(client_id)
        query = query.where(User.client_id == client_id)
    rows = db.session.execute(query.order_by(Client.name, User.email)).all()
    if not rows:
        click.echo("No dashboard users yet. Add one with: revtain users add CLIENT_ID EMAIL")
        return
    click.echo(f"{'email':<36}{'role':<11}{'client':<28}last sign-in")
    for user, client_name in rows:
        last = iso(user.last_login_at) if user.last_login_at else "never"
        click.echo(f"{user.email[:35]:<36}{user.role:<11}{client_name[:27]:<28}{last}")


@users_group.command("remove")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def users_remove(email: str, yes: bool) -> None:
    """Remove a dashboard user; their sessions end at once (a client keeps at least one admin)."""
    from .dashboard.accounts import AccountError, remove_by_email

    if not yes:
        click.confirm(f"Remove {email} from the dashboard?", abort=True)
    try:
        user = remove_by_email(email)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Removed {user.email}.")


@users_group.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def users_reset_password(email: str, password_stdin: bool) -> None:
    """Set a new password for a dashboard user; every session of theirs ends."""
    from .dashboard.accounts import AccountError, reset_password

    password = _password(password_stdin, "New password")
    try:
        user = reset_password(email, password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"New password set for {user.email}; their other sessions were ended. "
               f"Sign in at {login_url()}")


# The command's earlier name, kept for scripts that use it.
users_group.add_command(click.Command("set-password", callback=users_reset_password.callback,
                                      params=users_reset_password.params, hidden=True,
                                      help=users_reset_password.help))
