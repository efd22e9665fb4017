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
from collections.abc import Iterator
from pathlib import Path

import pytest

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
