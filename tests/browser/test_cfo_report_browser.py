"""The CFO report in a real browser: its SVG charts draw under the dashboard's CSP, each with a
data table beside it, with no serious accessibility violation (axe-core), at desktop and phone width.

Revtain runs as real processes (gunicorn, worker, scheduler); the known figures of
``tests/test_reporting.py`` are written to its database and a finance user signs in. The report is
screenshotted to a temporary folder, or to ``docs/screenshots/cfo-report*.png`` with
``REVTAIN_WRITE_SCREENSHOTS=1``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from revtain import create_app
from revtain.onboarding import onboard
from tests.browser.accessibility import serious_violations
from tests.browser.conftest import add_user, sign_in, stack_settings
from tests.conftest import _clean
from tests.support.processes import Stack
from tests.test_reporting import seed

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect
FINANCE = "frank@acme.example"
REPORT = "/dashboard/reports/cfo?from=2026-01-01&to=2026-03-16"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
RECOVERED_GREEN = "rgb(4, 120, 87)"  # .series-recovered, #047857


@dataclass
class Live:
    stack: Stack


@pytest.fixture(scope="module")
def live(
    browser, smtp, base_config, database_url, redis_url, instance_dir, migrated, tmp_path_factory
) -> Iterator[Live]:
    app = create_app(base_config)
    settings = stack_settings(smtp, database_url, redis_url, instance_dir)
    try:
        with Stack(settings, tmp_path_factory.mktemp("report-browser-logs")) as stack:
            with app.app_context():
                merchant = onboard(name="Acme Inc", webhook_url=None, gateway="test")
                seed(merchant.client_id)
            add_user(stack, merchant.client_id, FINANCE, "finance")
            yield Live(stack)
    finally:
        _clean(app)


def open_report(browser, live: Live, options: dict):
    """The report, signed in, and the CSP violations the page reports on the console."""
    context = browser.new_context(**options)
    page = context.new_page()
    blocked: list[str] = []
    page.on(
        "console",
        lambda msg: (
            blocked.append(msg.text)
            if "Content-Security-Policy" in msg.text or "Content Security Policy" in msg.text
            else None
        ),
    )
    sign_in(page, live.stack, FINANCE)
    response = page.goto(live.stack.base_url + REPORT)
    assert response is not None and response.status == 200
    return context, page, blocked


def serious_violations_of(browser, live: Live, options: dict) -> list[str]:
    """axe-core on the same report. Its script is injected into the page, which the dashboard's CSP
    (no scripts at all) refuses: this context alone bypasses the CSP, the others keep it."""
    context = browser.new_context(**options, bypass_csp=True)
    try:
        page = context.new_page()
        sign_in(page, live.stack, FINANCE)
        page.goto(live.stack.base_url + REPORT)
        return serious_violations(page)
    finally:
        context.close()


def test_the_charts_draw_beside_their_tables_with_no_serious_violation(live, browser, screenshot_dir):
    context, page, blocked = open_report(browser, live, DESKTOP)
    try:
        expect(page.get_by_role("heading", level=1)).to_have_text("CFO report")
        charts = page.locator("svg.chart")
        expect(charts).to_have_count(6)
        expect(page.get_by_role("img", name="Monthly amounts in USD")).to_be_visible()
        expect(page.get_by_role("img", name="Recovery rate by decline family")).to_be_visible()
        expect(page.get_by_role("img", name="Days to recover")).to_be_visible()
        for table in (
            "Monthly amounts in USD",
            "Recovery rate by decline family",
            "Recovery rate by dunning step",
            "Recovered payments by days to recover",
        ):
            expect(page.get_by_role("table", name=table)).to_be_visible()
        usd = page.locator("#chart-trend-USD")
        # the stylesheet (nonce'd, the only style the CSP allows) colours the bars
        expect(usd.locator("rect.series-recovered").first).to_have_css("fill", RECOVERED_GREEN)
        box = usd.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150, box
        table = page.get_by_role("table", name="Monthly amounts in USD").bounding_box()
        assert table["x"] > box["x"] + box["width"] - 1, (box, table)  # beside it, not below
        assert blocked == [], blocked
        assert serious_violations_of(browser, live, DESKTOP) == []
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": 1280, "height": height})
        page.screenshot(path=str(screenshot_dir / "cfo-report.png"))
    finally:
        context.close()


def test_the_report_reads_at_phone_width(live, browser, screenshot_dir):
    context, page, blocked = open_report(browser, live, PHONE)
    try:
        usd = page.locator("#chart-trend-USD")
        box = usd.bounding_box()
        # close to its own 360 units wide: its text is shown at about its own size
        assert box is not None and 300 <= box["width"] <= 390, box
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        table = page.get_by_role("table", name="Monthly amounts in USD").bounding_box()
        assert table["y"] > box["y"] + box["height"] - 1  # the table below the chart
        assert blocked == [], blocked
        assert serious_violations_of(browser, live, PHONE) == []
        page.screenshot(path=str(screenshot_dir / "cfo-report-phone.png"), full_page=True)
    finally:
        context.close()
