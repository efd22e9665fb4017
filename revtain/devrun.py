"""``revtain dev``: everything on embedded defaults in one command.

Migrates the database, creates a demo merchant on the test gateway on first run (its webhooks go
to the development inbox), then runs gunicorn, an RQ worker and the scheduler until Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select

from .config import is_production
from .extensions import db
from .models import Client
from .onboarding import IssuedCredentials, onboard

DEMO_NAME = "Demo Merchant"
DEMO_LOGIN = "demo@revtain.example"
# Where ``revtain dev`` notes its URL, so other ``revtain`` commands print links on the same port.
BASE_URL_FILE = "dev-base-url"


def remember_base_url(app, url: str) -> None:
    with open(os.path.join(app.instance_path, BASE_URL_FILE), "w", encoding="utf-8") as f:
        f.write(url + "\n")


def apply_remembered_base_url(app) -> None:
    """In development, when PUBLIC_BASE_URL was not chosen, use the URL ``revtain dev`` last ran on."""
    from . import config

    chosen = "REVTAIN_PUBLIC_BASE_URL" in os.environ or (
        app.config.get("PUBLIC_BASE_URL") != getattr(config, "DEFAULTS", {}).get("PUBLIC_BASE_URL")
    )
    if is_production(app) or chosen:
        return
    try:
        with open(os.path.join(app.instance_path, BASE_URL_FILE), encoding="utf-8") as f:
            url = f.read().strip()
    except OSError:
        return
    if url.startswith(("http://", "https://")):
        app.config["PUBLIC_BASE_URL"] = url


def _ensure_demo_login(client_id: str) -> str | None:
    """A dashboard admin for the demo merchant; its password on first run only (None after)."""
    import secrets

    from .dashboard.accounts import create_user
    from .models import User

    if db.session.execute(select(User.id).where(User.email == DEMO_LOGIN)).scalar_one_or_none():
        return None
    password = secrets.token_urlsafe(12)
    create_user(client_id, DEMO_LOGIN, "admin", password)
    return password


def _ensure_demo(base_url: str) -> tuple[str, IssuedCredentials | None, str | None]:
    """The demo client's id and, on first run only, its freshly issued credentials and the demo
    dashboard login's password."""
    try:
        existing = db.session.execute(
            select(Client.id).where(Client.name == DEMO_NAME)
        ).scalar_one_or_none()
        if existing is not None:
            return existing, None, _ensure_demo_login(existing)
        issued = onboard(name=DEMO_NAME, webhook_url=None, gateway="test", brand_name=DEMO_NAME)
        client = db.session.get(Client, issued.client_id)
        client.webhook_url = f"{base_url}/dev/webhook-inbox/{client.id}"
        db.session.commit()
        return issued.client_id, issued, _ensure_demo_login(issued.client_id)
    finally:
        # This process then only supervises: it must not sit in an open transaction, which on
        # SQLite would hold the write lock the web server and worker need.
        db.session.remove()


def _wait_until_up(url: str, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


@click.command("dev")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--web-workers", default=2, show_default=True, type=int)
def dev_command(host: str, port: int, web_workers: int) -> None:
    """Run Revtain (web, worker, scheduler) on embedded defaults, with a demo merchant."""
    from .cli_clients import curl_example, print_credentials

    app = current_app
    if is_production(app):
        raise click.ClickException(
            "revtain dev is for development. In production run each part: revtain db upgrade; "
            "gunicorn wsgi:app; revtain worker; revtain scheduler"
        )
    base_url = f"http://{host}:{port}"
    if not os.environ.get("REVTAIN_PUBLIC_BASE_URL"):
        app.config["PUBLIC_BASE_URL"] = base_url
    click.echo("Migrating the database ...")
    upgrade(revision="heads")
    client_id, issued, demo_password = _ensure_demo(base_url)
    remember_base_url(app, app.config["PUBLIC_BASE_URL"])

    metrics_dir = os.path.join(app.instance_path, "prometheus")  # emptied each run (multiprocess mode)
    shutil.rmtree(metrics_dir, ignore_errors=True)
    os.makedirs(metrics_dir)
    env = {
        **os.environ,
        "REVTAIN_REDIS_URL": app.config["REDIS_URL"],
        "REVTAIN_INSTANCE_PATH": app.instance_path,
        "REVTAIN_PUBLIC_BASE_URL": app.config["PUBLIC_BASE_URL"],
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
    }
    python = sys.executable
    commands = {
        "web": [python, "-m", "gunicorn", "-c", "python:revtain.observability.gunicorn_conf",
                "-w", str(web_workers), "-b", f"{host}:{port}",
                "--graceful-timeout", "5", "--no-control-socket", "revtain:create_app()"],
        "worker": [python, "-m", "revtain", "worker"],
        "scheduler": [python, "-m", "revtain", "scheduler"],
    }
    processes = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}

    def stop_all(*_):
        for proc in processes.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in processes.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()

    def interrupt(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, lambda *a: (stop_all(), sys.exit(0)))
    signal.signal(signal.SIGINT, interrupt)  # also when started where SIGINT was ignored
    try:
        if not _wait_until_up(f"{base_url}/healthz"):
            stop_all()
            raise click.ClickException(f"the web server did not come up on {base_url}")
        click.echo("")
        click.echo(click.style(f"Revtain is running on {base_url}", bold=True, fg="green"))
        click.echo(f"  web (gunicorn, {web_workers} workers), RQ worker and scheduler are up")
        click.echo(f"  database: {app.config['SQLALCHEMY_DATABASE_URI']}")
        click.echo(f"  webhook inbox: {base_url}/dev/webhook-inbox")
        click.echo(f"  dashboard:     {base_url}/dashboard  (sign in as {DEMO_LOGIN}"
                   + (f", password {demo_password})" if demo_password else
                      f"; password shown on first run, new one: revtain users reset-password {DEMO_LOGIN})"))
        click.echo(f"  health:        {base_url}/readyz   metrics: {base_url}/metrics\n")
        if issued is not None:
            print_credentials(issued, f"{DEMO_NAME} (test gateway)")
            click.echo("\nTry it:\n")
            click.echo(curl_example(base_url, issued.api_key))
            click.echo(f"\nThen open {base_url}/dev/webhook-inbox to see the signed recovery.success.")
        else:
            click.echo(
                f"{DEMO_NAME} {client_id} exists; its keys were shown on first run. "
                f"For new ones: revtain rotate-keys {client_id}"
            )
        click.echo("\nPress Ctrl-C to stop.")
        while all(proc.poll() is None for proc in processes.values()):
            time.sleep(0.5)
        failed = [name for name, proc in processes.items() if proc.poll() is not None]
        stop_all()
        raise click.ClickException(f"{', '.join(failed)} stopped; shutting down")
    except KeyboardInterrupt:
        click.echo("\nStopping ...")
        stop_all()
