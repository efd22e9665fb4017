"""The first hour in a browser, from a fresh instance as ``./scripts/run`` leaves it: / leads to
the sign-in page, the demo login printed by ``revtain dev`` signs in, the curl from the README
recovers a payment, the dashboard shows it with its delivered webhook, and the dev inbox shows
the signed event. Screenshots go to ``docs/screenshots/first-hour-*.png`` with
``REVTAIN_WRITE_SCREENSHOTS=1``."""

from __future__ import annotations

import requests

from tests.support.devrun import dev_run

EXECUTE = {"paymentMethodToken": "pm_1234567890", "amount": 5000, "currency": "USD",
           "originalDeclineCode": "do_not_honor", "idempotencyKey": "order_12345_retry_1"}


def test_first_hour_from_a_fresh_instance(browser, screenshot_dir, tmp_path):
    with dev_run(tmp_path / "instance") as dev:
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        try:
            page.goto(f"{dev.base_url}/")
            assert page.url == f"{dev.base_url}/dashboard/login"
            page.get_by_label("Email").fill(dev.demo_email)
            page.get_by_label("Password").fill(dev.demo_password)
            page.screenshot(path=str(screenshot_dir / "first-hour-1-sign-in.png"))
            with page.expect_navigation():
                page.get_by_role("button", name="Sign in").click()
            assert "/dashboard/login" not in page.url, page.locator("main").inner_text()
            page.screenshot(path=str(screenshot_dir / "first-hour-2-dashboard.png"))

            r = requests.post(f"{dev.base_url}/api/recovery/execute", json=EXECUTE,
                              headers={"X-API-KEY": dev.api_key}, timeout=30)
            assert r.status_code == 200 and r.json()["message"] == "Revenue Recovered", r.text
            recovery_id = r.json()["transactionId"]

            page.goto(f"{dev.base_url}/dev/webhook-inbox")
            for _ in range(100):  # the worker delivers within a second or two
                if "recovery.success" in page.locator("body").inner_text():
                    break
                page.wait_for_timeout(200)
                page.reload()
            inbox = page.locator("body").inner_text()
            assert "recovery.success" in inbox and "verified ✓" in inbox, inbox
            page.screenshot(path=str(screenshot_dir / "first-hour-3-webhook-inbox.png"), full_page=True)

            page.goto(f"{dev.base_url}/dashboard/recoveries")
            page.get_by_role("link", name=recovery_id).click()
            page.wait_for_url(f"**/{recovery_id}")
            detail = page.locator("main").inner_text()
            assert "succeeded" in detail.lower() and "Delivered." in detail, detail
            page.screenshot(path=str(screenshot_dir / "first-hour-4-recovery.png"), full_page=True)
        finally:
            page.close()
