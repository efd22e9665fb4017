"""Every dashboard page an admin can open, in a real browser, with no serious accessibility
violation (axe-core): the pages this session's work touched (settings and branding, the dunning
sender and sequences, alerts, connectors, users) and the ones around them.

Revtain runs as real processes (gunicorn, worker, scheduler); an admin signs in through the form.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from revtain import create_app
from revtain.onboarding import onboard
from tests.browser.accessibility import serious_violations
from tests.browser.conftest import add_user, sign_in, stack_settings
from tests.conftest import _clean
from tests.support.processes import Stack

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
ADMIN = "ada@acme.example"
PAGES = [
    "/dashboard/", "/dashboard/recoveries", "/dashboard/webhooks", "/dashboard/settings",
    "/dashboard/dunning", "/dashboard/dunning/sender", "/dashboard/dunning/templates/new",
    "/dashboard/alerts", "/dashboard/connectors", "/dashboard/users", "/dashboard/account",
]


@pytest.fixture(scope="module")
def stack(browser, smtp, base_config, database_url, redis_url, instance_dir, migrated,
          tmp_path_factory) -> Iterator[Stack]:
    app = create_app(base_config)
    settings = stack_settings(smtp, database_url, redis_url, instance_dir)
    try:
        with Stack(settings, tmp_path_factory.mktemp("dashboard-a11y-logs")) as running:
            with app.app_context():
                merchant = onboard(name="Acme Inc", webhook_url=None, gateway="test")
            add_user(running, merchant.client_id, ADMIN, "admin")
            yield running
    finally:
        _clean(app)


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_every_dashboard_page_has_no_serious_violation(browser, stack, viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        sign_in(page, stack, ADMIN)
        found = {}
        for path in PAGES:
            response = page.goto(stack.base_url + path)
            assert response is not None and response.status == 200, path
            problems = serious_violations(page)
            if problems:
                found[path] = problems
        assert found == {}, "\n".join(f"{path}: {problems}" for path, problems in found.items())
    finally:
        context.close()
