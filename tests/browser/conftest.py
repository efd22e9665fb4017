"""Fixtures for the headless-browser tests: Debian's Chromium driven by Playwright, and an SMTP inbox.

Playwright never downloads a browser here: it drives ``/usr/bin/chromium`` (``apt-get install
chromium``; ``.ci/run`` installs it). Without it, or without the ``playwright`` package, the tests
are skipped with the reason, so ``./scripts/test`` still passes on a machine without a browser.

Chromium resolves the merchants' card-update domains (``CARD_UPDATE_HOSTS``) to 127.0.0.1 through
``--host-resolver-rules``: the page is then requested with the merchant's own ``Host``, as it is in
production behind the merchant's CNAME.
"""

from __future__ import annotations

import email
import os
import socket
import time
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

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


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"

    def wait_for(self, count: int, timeout: float, explain=lambda: "") -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {count} email(s) at the SMTP server, got {len(self.received)}\n{explain()}"
                )
            time.sleep(0.05)
        return list(self.received)


@pytest.fixture(scope="module")
def smtp() -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 (plain, no TLS) on a free port."""
    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox(port)
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
