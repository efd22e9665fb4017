"""The API reference page (``/docs/api``) in a real browser: the vendored Swagger UI renders the
generated OpenAPI document, every operation and webhook, under the page's strict Content-Security-Policy
(no inline script or style), without a single request leaving Revtain. A screenshot goes to a temporary
folder, or ``docs/screenshots/api-reference.png`` with ``REVTAIN_WRITE_SCREENSHOTS=1``.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.support.servers import threaded_server


@pytest.fixture
def server(app) -> Iterator[str]:
    with threaded_server(app) as url:
        yield url


def test_the_api_reference_renders_every_operation_offline_under_its_csp(browser, server, client,
                                                                         screenshot_dir):
    doc = client.get("/api/openapi.json").get_json()
    origin = urlsplit(server).netloc
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    elsewhere: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("request", lambda r: None if r.url.startswith(("data:", "blob:"))
            or urlsplit(r.url).netloc == origin else elsewhere.append(r.url))
    page.add_init_script("""
        window.__violations = [];
        document.addEventListener('securitypolicyviolation',
            e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
    """)

    response = page.goto(f"{server}/docs/api")
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy and "unsafe" not in policy

    expect(page.get_by_role("heading", name="Revtain API")).to_be_visible(timeout=30_000)
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            block = page.locator(f".opblock-{method}", has=page.locator(f'[data-path="{path}"]'))
            expect(block.first).to_contain_text(operation["summary"])
    for event in doc["webhooks"]:
        expect(page.locator(".opblock", has_text=event).first).to_be_visible()

    # One operation opened: its request body fields and its responses come from the models.
    execute = page.locator(".opblock-post", has=page.locator('[data-path="/api/recovery/execute"]'))
    execute.locator(".opblock-summary").click()
    expect(execute.get_by_text("Duplicate request").first).to_be_visible()
    execute.get_by_role("tab", name="Schema").first.click()
    for field in ("paymentMethodToken", "idempotencyKey", "fallbackPaymentMethodTokens"):
        expect(execute.get_by_text(field, exact=True).first).to_be_visible()
    execute.scroll_into_view_if_needed()
    page.screenshot(path=screenshot_dir / "api-reference.png")

    assert page.evaluate("window.__violations") == []
    assert problems == []
    assert elsewhere == []
    context.close()


def test_the_dashboard_links_to_the_api_reference(client):
    page = client.get("/dashboard/login").get_data(as_text=True)
    assert 'href="/docs/api"' in page
    assert client.get("/docs/api").status_code == 200
