"""The paywall snippet in a real browser, on a fictional merchant's app, against Revtain as real processes.

gunicorn, an RQ worker and the scheduler run as subprocesses (``tests.support.processes``). The
merchant's app ("Acme Cloud") is a separate origin (``http://localhost:<port>``, Revtain being on
``http://127.0.0.1:<port>``), served by a small HTTP server in this process with a strict
Content-Security-Policy: scripts only from itself and Revtain, no inline script or style at all.
Headless Chromium loads its pages as the customer would; every CSP violation or script error fails
the test.

Shown: the overlay for a past-due customer (brand name and colour, the amount, the card-update
button, role=dialog, aria-modal, focus moved in, kept in and given back, Escape to dismiss), one
status request per browser session (the reload is answered from sessionStorage), the dismissal
remembered for the session, the overlay left out for a customer in good standing, and silence when
Revtain is unreachable, slow, failing or refuses the key. A screenshot of the overlay goes to a
temporary folder, or ``docs/screenshots/paywall-overlay.png`` with ``REVTAIN_WRITE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from revtain import create_app
from revtain.onboarding import IssuedCredentials, onboard
from tests.browser.conftest import stack_settings
from tests.conftest import _clean
from tests.support.processes import Stack, free_port

BRAND = "Acme Cloud"
BRAND_COLOR = "#0f766e"
BRAND_RGB = "rgb(15, 118, 110)"
PAST_DUE = "jo@example.com"
GOOD = "sam@example.com"
STATUS_PATH = "/api/recovery/paywall-status"
OVERLAY = "[data-revtain-paywall]"
APP_CSS = """
body { margin: 0; font-family: system-ui, sans-serif; color: #0f172a; background: #f8fafc; }
header { display: flex; justify-content: space-between; padding: 16px 32px;
         background: #0f766e; color: #fff; }
header a { color: #fff; }
main { max-width: 720px; margin: 32px auto; padding: 0 16px; }
input { margin-left: 8px; padding: 6px 8px; }
ul { list-style: none; padding: 0; }
li { display: flex; justify-content: space-between; background: #fff; border: 1px solid #e2e8f0;
     border-radius: 8px; padding: 16px; margin: 12px 0; }
li span { color: #64748b; }
"""


@dataclass
class MerchantApp:
    """The merchant's own app: pages that embed the snippet, and stand-ins for a Revtain that is
    slow or failing (``/slow/…``, ``/broken/…``) so the snippet's silence can be shown."""

    revtain: str
    publishable_key: str
    port: int = 0

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.port}"

    def csp(self, api: str = "") -> str:
        return (
            f"default-src 'none'; script-src 'self' {self.revtain}; connect-src {self.revtain} 'self' {api}; "
            "style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'"
        )

    def page(self, email: str, **attrs: str) -> str:
        data = {
            "publishable-key": self.publishable_key,
            "customer-email": email,
            "card-update-url": f"{self.origin}/billing",
            "brand-name": BRAND,
            "brand-color": BRAND_COLOR,
            **attrs,
        }
        attributes = " ".join(f'data-{k}="{escape(v)}"' for k, v in data.items() if v is not None)
        return (
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>Acme Cloud · Projects</title>"
            "<link rel=stylesheet href=/app.css>"
            f'<script src="{self.revtain}/revtain-paywall.js" async {attributes}></script></head>'
            "<body><header><strong>Acme Cloud</strong><a href=/billing>Billing</a></header><main>"
            "<h1>Your projects</h1><label>Search <input id=search></label><ul>"
            "<li>Marketing site <span>Deployed 2 h ago</span></li><li>Mobile API <span>Deployed "
            "yesterday</span></li><li>Data pipeline <span>Paused</span></li></ul>"
            "</main><script src=/focus.js></script></body></html>"
        )

    def window_config_page(self) -> str:
        return (
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>Acme Cloud</title>"
            "<script src=/config.js></script>"
            f'<script src="{self.revtain}/revtain-paywall.js" async></script></head>'
            "<body><h1>Dashboard</h1><button id=first>New project</button></body></html>"
        )

    def config_js(self) -> str:
        return (
            "window.RevtainPaywall = "
            + json.dumps(
                {
                    "publishableKey": self.publishable_key,
                    "customerEmail": PAST_DUE,
                    "brandName": "Acme",
                    "cardUpdateUrl": "/billing",
                }
            )
            + ";"
        )

    def handler(self):
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def send(self, status: int, body: str, content_type: str, headers: dict | None = None) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_OPTIONS(self) -> None:  # the stand-ins' preflight, as Revtain answers it
                self.send(
                    200,
                    "",
                    "text/plain",
                    {
                        "Access-Control-Allow-Origin": "*",
                        "Access-Control-Allow-Headers": "X-API-KEY",
                        "Access-Control-Allow-Methods": "GET, OPTIONS",
                    },
                )

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                html = {"Content-Security-Policy": app.csp(query.get("api", ""))}
                if url.path == "/account":
                    attrs = {"api-base": query["api"]} if "api" in query else {}
                    if "timeout" in query:
                        attrs["timeout-ms"] = query["timeout"]
                    if "key" in query:
                        attrs["publishable-key"] = query["key"]
                    self.send(200, app.page(query.get("email", PAST_DUE), **attrs), "text/html", html)
                elif url.path == "/home":
                    self.send(200, app.window_config_page(), "text/html", html)
                elif url.path == "/app.css":
                    self.send(200, APP_CSS, "text/css")
                elif url.path == "/focus.js":
                    self.send(200, "document.getElementById('search').focus();", "application/javascript")
                elif url.path == "/config.js":
                    self.send(200, app.config_js(), "application/javascript")
                elif url.path == "/billing":
                    self.send(200, "<!doctype html><title>Billing</title><h1>Billing</h1>", "text/html", html)
                elif url.path.startswith("/slow/"):
                    time.sleep(1.5)
                    self.send(
                        200,
                        json.dumps(
                            {
                                "isPastDue": True,
                                "totalOwedCents": 4900,
                                "currency": "USD",
                                "failedPaymentCount": 1,
                                "oldestFailureAt": None,
                            }
                        ),
                        "application/json",
                        {"Access-Control-Allow-Origin": "*"},
                    )
                elif url.path.startswith("/broken/"):
                    self.send(
                        500,
                        '{"error": "Internal server error."}',
                        "application/json",
                        {"Access-Control-Allow-Origin": "*"},
                    )
                else:
                    self.send(404, "not found", "text/plain")

        return Handler


@pytest.fixture(scope="module")
def live(
    browser, smtp, base_config, database_url, redis_url, instance_dir, migrated, tmp_path_factory
) -> Iterator[tuple[Stack, IssuedCredentials]]:
    app = create_app(base_config)
    settings = stack_settings(smtp, database_url, redis_url, instance_dir)
    try:
        with Stack(settings, tmp_path_factory.mktemp("paywall-browser-logs")) as stack:
            with app.app_context():
                merchant = onboard(name="Acme Inc", webhook_url=None, gateway="test", brand_name=BRAND)
            yield stack, merchant
    finally:
        _clean(app)


@pytest.fixture(scope="module")
def shop(live) -> Iterator[MerchantApp]:
    stack, merchant = live
    app = MerchantApp(stack.base_url, merchant.publishable_key)
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), app.handler())
    app.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def past_due(live) -> None:
    """Two failed payments of the customer, reported through the API."""
    stack, merchant = live
    for n, amount in enumerate((4900, 2500)):
        r = requests.post(
            f"{stack.base_url}/api/recovery/execute",
            timeout=10,
            headers={"X-API-KEY": merchant.api_key},
            json={
                "paymentMethodToken": f"pm_{n}",
                "amount": amount,
                "currency": "USD",
                "customerEmail": PAST_DUE,
                "simulateOutcome": "failed",
            },
        )
        assert r.status_code == 200 and r.json()["success"] is False, stack.explain(r)


class Watched:
    """A browser context whose paywall-status requests are counted and whose problems are kept:
    script errors and Content-Security-Policy violations (both reported on the console)."""

    def __init__(self, browser, **options) -> None:
        self.context = browser.new_context(**options)
        self.status_requests: list[str] = []
        self.problems: list[str] = []
        self.context.on("request", lambda r: STATUS_PATH in r.url and self.status_requests.append(r.url))
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on(
            "console", lambda m: "Content Security Policy" in m.text and self.problems.append(m.text)
        )

    def open(self, url: str) -> None:
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, url

    def settle(self, ms: int = 700) -> None:
        """Give the async snippet time to ask and (not) draw."""
        self.page.wait_for_timeout(ms)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser) -> Iterator[Watched]:
    w = Watched(browser, viewport={"width": 1280, "height": 800})
    yield w
    w.close()
    assert not w.problems, w.problems


def test_the_overlay_for_a_past_due_customer(shop, past_due, watched, screenshot_dir):
    page = watched.page
    watched.open(f"{shop.origin}/account")
    dialog = page.get_by_role("dialog", name=f"{BRAND} Your payment didn\u2019t go through")
    dialog.wait_for(state="visible", timeout=10_000)
    assert dialog.get_attribute("aria-modal") == "true"
    text = dialog.inner_text()
    assert "2 payments totalling $74.00 didn\u2019t go through" in text, text
    update = dialog.get_by_role("link", name="Update payment method")
    assert update.get_attribute("href") == f"{shop.origin}/billing"
    assert update.evaluate("a => getComputedStyle(a).backgroundColor") == BRAND_RGB
    assert update.evaluate("a => getComputedStyle(a).color") == "rgb(255, 255, 255)"  # contrast on teal
    assert update.evaluate("a => a === document.activeElement")  # focus moved into the dialog
    page.screenshot(path=str(screenshot_dir / "paywall-overlay.png"))

    # focus stays inside: Tab cycles link -> "Not now" -> close -> link, Shift+Tab goes back
    names = []
    for _ in range(3):
        page.keyboard.press("Tab")
        names.append(
            page.evaluate(
                "document.activeElement.getAttribute('aria-label') || document.activeElement.textContent"
            )
        )
    assert names == ["Not now", "Dismiss", "Update payment method"], names
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Dismiss"

    # one request for this browser session: the reload is answered from sessionStorage
    assert len(watched.status_requests) == 1
    watched.open(f"{shop.origin}/account")
    dialog.wait_for(state="visible", timeout=10_000)
    watched.settle()
    assert len(watched.status_requests) == 1

    # Escape dismisses it, gives focus back to where it was, and it stays away this session
    assert page.evaluate("document.activeElement.tagName") == "A"
    page.keyboard.press("Escape")
    assert page.locator(OVERLAY).count() == 0
    assert page.evaluate("document.activeElement.id") == "search"  # where the page had put it
    watched.open(f"{shop.origin}/account")
    watched.settle()
    assert page.locator(OVERLAY).count() == 0 and len(watched.status_requests) == 1


def test_not_now_and_the_backdrop_dismiss_it_and_a_new_session_asks_again(browser, shop, past_due):
    for how in ("Not now", "backdrop"):
        w = Watched(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        try:
            w.open(f"{shop.origin}/account")
            dialog = w.page.get_by_role("dialog")
            dialog.wait_for(state="visible", timeout=10_000)
            if how == "Not now":
                dialog.get_by_role("button", name="Not now").click()
            else:
                w.page.mouse.click(5, 5)
            assert w.page.locator(OVERLAY).count() == 0
            assert len(w.status_requests) == 1  # each new browser session asks once
            assert not w.problems, w.problems
        finally:
            w.close()


def test_the_update_button_leads_to_the_card_page_and_the_status_is_asked_again(shop, past_due, watched):
    watched.open(f"{shop.origin}/account")
    dialog = watched.page.get_by_role("dialog")
    dialog.wait_for(state="visible", timeout=10_000)
    with watched.page.expect_navigation():
        dialog.get_by_role("link", name="Update payment method").click()
    assert urlsplit(watched.page.url).path == "/billing"
    watched.open(f"{shop.origin}/account")  # back from updating the card: not answered from memory
    watched.page.get_by_role("dialog").wait_for(state="visible", timeout=10_000)
    assert len(watched.status_requests) == 2


def test_configured_through_window_revtain_paywall(shop, past_due, watched):
    watched.open(f"{shop.origin}/home")
    dialog = watched.page.get_by_role("dialog", name="Acme Your payment didn\u2019t go through")
    dialog.wait_for(state="visible", timeout=10_000)
    update = dialog.get_by_role("link", name="Update payment method")
    assert update.get_attribute("href") == f"{shop.origin}/billing"
    # the documented default colour, with dark text for contrast
    assert update.evaluate("a => getComputedStyle(a).backgroundColor") == "rgb(45, 212, 191)"
    assert update.evaluate("a => getComputedStyle(a).color") == "rgb(15, 23, 42)"


def test_no_overlay_for_a_customer_in_good_standing(shop, watched):
    watched.open(f"{shop.origin}/account?email={GOOD}")
    watched.settle(1000)
    assert watched.page.locator(OVERLAY).count() == 0
    assert len(watched.status_requests) == 1
    assert watched.page.evaluate("document.activeElement.id") == "search"  # focus left alone


@pytest.mark.parametrize("case", ["unreachable", "slow", "failing", "refused key"])
def test_silent_when_revtain_cannot_answer(shop, past_due, watched, case):
    closed = f"http://127.0.0.1:{free_port()}"
    query = {
        "unreachable": f"api={closed}",
        "slow": f"api={shop.origin}/slow&timeout=500",  # answers "past due", but after the timeout
        "failing": f"api={shop.origin}/broken",
        "refused key": "key=rev_pk_not_a_key",
    }[case]
    watched.open(f"{shop.origin}/account?{query}")
    watched.settle(2500 if case == "slow" else 1000)
    assert watched.page.locator(OVERLAY).count() == 0
    assert watched.page.evaluate("document.activeElement.id") == "search"
    assert watched.page.get_by_role("heading", name="Your projects").is_visible()  # the app works on
    # a refused key stays refused all session long: remembered; a failure or a timeout is asked again
    watched.open(f"{shop.origin}/account?{query}")
    watched.settle(2500 if case == "slow" else 1000)
    assert watched.page.locator(OVERLAY).count() == 0
    assert len(watched.status_requests) == (1 if case == "refused key" else 2)
