"""A newcomer's first hour: / leads to the dashboard, the CLI shows only Revtain's commands and
starts without loading the app, CLI URLs follow the port ``revtain dev`` ran on, DNS instructions
name a host, webhook failures are explained, and the README links only files that exist."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

from revtain.cli import COMMANDS
from revtain.devrun import BASE_URL_FILE
from revtain.extensions import db
from revtain.models import Client, User
from revtain.onboarding import onboard
from tests.conftest import ENCRYPTION_KEY
from tests.support.jobs import run_jobs
from tests.support.processes import ROOT, process_env

PASSWORD = "correct horse battery"
REVTAIN = str(Path(sys.executable).parent / "revtain")


def test_root_leads_to_the_dashboard_sign_in(client):
    r = client.get("/")
    assert r.status_code == 302 and r.headers["Location"] == "/dashboard/"
    r = client.get("/dashboard/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/dashboard/login")


def test_help_lists_only_our_commands_without_loading_flask():
    probe = (
        "import sys\nfrom click.testing import CliRunner\nfrom revtain.cli import main\n"
        "out = CliRunner().invoke(main, ['--help']).output\n"
        "print(sys.modules.get('flask') is None, sys.modules.get('sqlalchemy') is None)\nprint(out)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    first, _, output = done.stdout.partition("\n")
    assert first == "True True"  # --help imported neither Flask nor SQLAlchemy
    listed = re.findall(r"^  ([a-z-]+)\s", output.split("Commands:")[1], re.MULTILINE)
    assert listed == sorted(COMMANDS)
    for flask_only in ("routes", "shell", "--env-file", "--app", "python-dotenv"):
        assert flask_only not in output
    assert not re.search(r"^  run\s", output, re.MULTILINE)


def test_the_installed_command_runs_a_subcommand(app):
    done = subprocess.run([REVTAIN, "users", "add", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "[admin|marketing|finance]" in done.stdout


def _cli_env(app, instance: Path) -> dict[str, str]:
    return process_env(
        {
            "REVTAIN_DATABASE_URL": app.config["DATABASE_URL"],
            "REVTAIN_REDIS_URL": app.config["REDIS_URL"],
            "REVTAIN_ENCRYPTION_KEY": ENCRYPTION_KEY,
            "REVTAIN_SECRET_KEY": "x",
            "REVTAIN_INSTANCE_PATH": instance,
        }
    )


def test_cli_urls_follow_the_port_revtain_dev_ran_on(app, tmp_path):
    (tmp_path / BASE_URL_FILE).write_text("http://127.0.0.1:9123\n")
    env = _cli_env(app, tmp_path)
    done = subprocess.run(
        [REVTAIN, "onboard", "--name", "Acme", "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    issued = json.loads(done.stdout)
    assert all(url.startswith("http://127.0.0.1:9123/") for url in issued["connectorWebhookUrls"].values())
    done = subprocess.run(
        [REVTAIN, "users", "add", issued["clientId"], "jo@acme.example", "--password-stdin"],
        env=env,
        cwd=ROOT,
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "http://127.0.0.1:9123/dashboard/login" in done.stdout
    # an explicit PUBLIC_BASE_URL always wins
    env["REVTAIN_PUBLIC_BASE_URL"] = "https://revtain.example.com"
    done = subprocess.run(
        [REVTAIN, "connectors", "list", issued["clientId"]],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "https://revtain.example.com/" in done.stdout and "9123" not in done.stdout


def test_users_list_remove_and_reset_password(app, runner, merchant):
    for email, role in (("boss@acme.example", "admin"), ("mkt@acme.example", "marketing")):
        r = runner.invoke(
            args=["users", "add", merchant.client_id, email, "--role", role, "--password-stdin"],
            input=PASSWORD + "\n",
        )
        assert r.exit_code == 0, r.output
    listing = runner.invoke(args=["users", "list", merchant.client_id])
    assert listing.exit_code == 0
    assert (
        "boss@acme.example" in listing.output and "marketing" in listing.output and "never" in listing.output
    )
    assert runner.invoke(args=["users", "list", "nope"]).exit_code == 1

    r = runner.invoke(
        args=["users", "reset-password", "MKT@acme.example", "--password-stdin"],
        input="another long password\n",
    )
    assert r.exit_code == 0 and "New password set for mkt@acme.example" in r.output
    r = runner.invoke(args=["users", "remove", "boss@acme.example", "--yes"])
    assert r.exit_code == 1 and "a client keeps at least one admin" in r.output
    r = runner.invoke(args=["users", "remove", "mkt@acme.example"], input="y\n")
    assert r.exit_code == 0 and "Removed mkt@acme.example" in r.output
    r = runner.invoke(args=["users", "remove", "mkt@acme.example", "--yes"])
    assert r.exit_code == 1 and "no user with email mkt@acme.example" in r.output
    with app.app_context():
        assert [u.email for u in db.session.query(User).all()] == ["boss@acme.example"]


def test_the_cname_instruction_names_a_host_never_an_address(make_app):
    app = make_app(PUBLIC_BASE_URL="http://127.0.0.1:8000")
    with app.app_context():
        issued = onboard(name="Acme", webhook_url=None, card_update_domain="pay.acme.invalid")
    r = app.test_cli_runner().invoke(args=["domains", "verify", issued.client_id])
    assert r.exit_code == 1
    assert "CNAME 127.0.0.1" not in r.output and "-> 127.0.0.1" not in r.output
    assert "pay.acme.invalid CNAME <this deployment's host name>" in r.output
    assert "REVTAIN_PUBLIC_BASE_URL" in r.output

    named = make_app(PUBLIC_BASE_URL="https://revtain.example.com")
    with named.app_context():
        client = db.session.get(Client, issued.client_id)
        from revtain.cardupdate.domains import cname_record

        assert cname_record(client.card_update_domain) == "pay.acme.invalid CNAME revtain.example.com"


def test_a_delivery_to_a_host_that_does_not_resolve_is_explained(make_app):
    app = make_app(FROZEN_NOW="2026-03-17T12:00:00+00:00")  # "in 2 seconds" whatever the machine's speed
    runner = app.test_cli_runner()
    with app.app_context():
        merchant = onboard(name="Acme", webhook_url="https://no-such-host.invalid/hooks")
    r = app.test_client().post(
        "/api/recovery/execute",
        json={
            "paymentMethodToken": "pm_1",
            "amount": 5000,
            "currency": "USD",
            "originalDeclineCode": "do_not_honor",
        },
        headers={"X-API-KEY": merchant.api_key},
    )
    assert r.status_code == 200
    listing = runner.invoke(args=["webhooks", "list", merchant.client_id])
    assert "Waiting for its first try." in listing.output
    run_jobs(app)
    listing = runner.invoke(args=["webhooks", "list", merchant.client_id])
    assert listing.exit_code == 0
    assert (
        "Try 1 of 10 failed: The receiver's host name could not be found (DNS). Trying again in 2 seconds."
        in listing.output
    ), listing.output
    assert "Error" not in listing.output and "Traceback" not in listing.output

    # the dashboard says the same, on the deliveries list and on the delivery's page
    with app.app_context():
        from revtain.dashboard.accounts import create_user

        create_user(merchant.client_id, "boss@acme.example", "admin", PASSWORD)
    browser = app.test_client()
    page = browser.get("/dashboard/login").get_data(as_text=True)
    csrf = re.search(r'csrf_token"[^>]*value="([^"]+)"', page).group(1)
    signed_in = browser.post(
        "/dashboard/login", data={"csrf_token": csrf, "email": "boss@acme.example", "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    deliveries = html.unescape(browser.get("/dashboard/webhooks").get_data(as_text=True))
    assert "The receiver's host name could not be found (DNS). Trying again in" in deliveries


def test_the_readme_and_docs_link_only_files_that_exist():
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text()
        assert "shared/" not in text, f"{doc.name} refers to files outside the repository"
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if re.match(r"[a-z]+:", target):
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to {target}, which does not exist"
