"""Fixtures for the headless-browser tests: Debian's Chromium driven by Playwright, and an SMTP inbox.

Playwright never downloads a browser here: it drives ``/usr/bin/chromium`` (``apt-get install
chromium``; ``.ci/run`` installs it). Without it, or without the ``playwright`` package, the tests
are skipped with the reason, so ``./scripts/test`` still passes on a machine without a browser.

Chromium resolves the merchants' card-update domains (``CARD_UPDATE_HOSTS``) to 127.0.0.1 through
``--host-resolver-rules``: the page is then requested with the merchant's own ``Host``, as it is in
production behind the merchant's CNAME.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ENCRYPTION_KEY
from tests.support.processes import Stack
from tests.support.smtp import Inbox, smtp_server

CHROMIUM = Path("/usr/bin/chromium")
CARD_UPDATE_HOSTS = ("pay.acme.test",)
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # without these, Chromium's own background connections get refused many at a time here
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=" + ", ".join(f"MAP {host} 127.0.0.1" for host in CARD_UPDATE_HOSTS),
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "correct horse battery staple"


def stack_settings(smtp: Inbox, database_url: str, redis_url: str, instance_dir: str) -> dict[str, object]:
    """The processes' configuration: the test database and Redis, the SMTP inbox, a fast
    scheduler, dunning emails not held back after a retry, and a queued retry that is not due
    during a test (only what the test does recovers a payment)."""
    return {
        "REVTAIN_DATABASE_URL": database_url,
        "REVTAIN_REDIS_URL": redis_url,
        "REVTAIN_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "REVTAIN_SECRET_KEY": "browser-secret",
        "REVTAIN_INSTANCE_PATH": instance_dir,
        "REVTAIN_TEST_GATEWAY_RETRY_LADDER": "[600]",
        "REVTAIN_SCHEDULER_INTERVAL_SECONDS": "0.2",
        "REVTAIN_DUNNING_AFTER_RETRY_SECONDS": "0",
        "REVTAIN_MAIL_SMTP_HOST": "127.0.0.1",
        "REVTAIN_MAIL_SMTP_PORT": smtp.port,
        "REVTAIN_MAIL_SMTP_TLS": "none",
        "REVTAIN_MAIL_FROM": "Billing <billing@revtain.test>",
    }


def add_user(stack: Stack, client_id: str, email: str, role: str) -> None:
    """A dashboard user, added as an operator does: ``revtain users add`` in its own process."""
    done = subprocess.run(
        [sys.executable, "-m", "revtain", "users", "add", client_id, email, "--role", role,
         "--password-stdin"],
        input=PASSWORD + "\n", env=stack.env, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, f"revtain users add failed:\n{done.stdout}{done.stderr}"


def sign_in(page, stack: Stack, email: str) -> None:
    """Sign in to the dashboard on ``page`` (a Playwright page) through its login form."""
    page.goto(f"{stack.base_url}/dashboard/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert "/dashboard/login" not in page.url, page.locator("main").inner_text()


# Module scope: Playwright's sync API keeps an event loop of its own while it runs; it is stopped
# before the rest of the suite (which uses asyncio itself: aiosmtpd, schemathesis) runs.
@pytest.fixture(scope="module")
def playwright_api():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: the browser tests need Debian's Chromium "
                    "(apt-get install -y chromium; .ci/run installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as api:
        yield api


@pytest.fixture(scope="module")
def browser(playwright_api):
    try:
        browser = playwright_api.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000,
        )
    except Exception as exc:  # a browser that cannot start is a failure, not a skip: it is installed
        raise AssertionError(f"{CHROMIUM} did not start under Playwright: {exc}") from exc
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    """``docs/screenshots/`` with ``REVTAIN_WRITE_SCREENSHOTS=1`` (to refresh the committed ones);
    otherwise a temporary folder, so a test run changes nothing in the repository."""
    if os.environ.get("REVTAIN_WRITE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def smtp() -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 (plain, no TLS) on a free port."""
    yield from smtp_server()
