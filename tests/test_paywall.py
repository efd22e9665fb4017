"""The in-app paywall (contract 3.7, 3.8): ``GET /api/recovery/paywall-status`` through a real HTTP
server and the real worker, what counts as an unrecovered failed payment, the publishable key's
limits, CORS, and the snippet's delivery. (The snippet in a browser:
tests/browser/test_paywall_browser.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from revtain.clock import now as clock_now
from revtain.extensions import db
from revtain.models import Client, Recovery
from revtain.models.recovery import AWAITING_CARD, PROCESSING, UNKNOWN
from revtain.onboarding import onboard, rotate_keys
from revtain.recovery.paywall import UNRECOVERED_STATES, unrecovered_failures
from tests.support.card_update import csrf_of, page_path
from tests.support.jobs import sweep
from tests.support.servers import threaded_server

START = "2026-03-17T12:00:00+00:00"
PATH = "/api/recovery/paywall-status"
GOOD_STANDING = {
    "isPastDue": False,
    "totalOwedCents": 0,
    "currency": "USD",
    "failedPaymentCount": 0,
    "oldestFailureAt": None,
}
CUSTOMER = "Jo.Doe@Example.com"


@pytest.fixture
def app(make_app):
    return make_app(FROZEN_NOW=START)


@pytest.fixture
def server(app) -> Iterator[str]:
    with threaded_server(app) as url:
        yield url


@pytest.fixture
def pk(merchant) -> dict[str, str]:
    return {"X-API-KEY": merchant.publishable_key}


def advance(app, **delta) -> None:
    app.extensions["revtain.clock"].advance(timedelta(**delta))


def execute(server: str, headers: dict, **body) -> requests.Response:
    body = {
        "paymentMethodToken": "pm_card",
        "amount": 4900,
        "currency": "USD",
        "customerEmail": CUSTOMER,
        **body,
    }
    return requests.post(f"{server}/api/recovery/execute", json=body, headers=headers, timeout=10)


def paywall(server: str, headers: dict, email: str = "jo.doe@example.com") -> dict:
    r = requests.get(server + PATH, params={"customerEmail": email}, headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    return r.json()


def insert(
    app, client_id: str, status: str, amount: int = 4900, currency: str = "USD", email: str = CUSTOMER
) -> str:
    """A recovery row in a state no API call of the test gateway leaves it in."""
    with app.app_context():
        now = clock_now()
        recovery = Recovery(
            client_id=client_id,
            payment_method_token="pm_row",
            amount=amount,
            currency=currency,
            customer_email=email,
            status=status,
            fallback_tokens=[],
            created_at=now,
            updated_at=now,
        )
        db.session.add(recovery)
        db.session.commit()
        return recovery.id


# -- the body ------------------------------------------------------------------------------------


def test_a_customer_in_good_standing(server, pk):
    assert paywall(server, pk) == GOOD_STANDING


def test_failed_blocked_and_queued_payments_make_the_customer_past_due(app, server, headers, pk):
    assert execute(server, headers, simulateOutcome="failed", amount=1000).status_code == 200
    advance(app, minutes=1)
    assert (
        execute(
            server, headers, paymentMethodToken="pm_2", originalDeclineCode="fraudulent", amount=2000
        ).status_code
        == 403
    )
    advance(app, minutes=1)
    assert (
        execute(
            server, headers, paymentMethodToken="pm_3", originalDeclineCode="insufficient_funds", amount=3000
        ).status_code
        == 202
    )
    body = paywall(server, pk)
    assert body == {
        "isPastDue": True,
        "totalOwedCents": 6000,
        "currency": "USD",
        "failedPaymentCount": 3,
        "oldestFailureAt": "2026-03-17T12:00:00.000Z",
    }
    assert list(body) == ["isPastDue", "totalOwedCents", "currency", "failedPaymentCount", "oldestFailureAt"]


@pytest.mark.parametrize("email", ["jo.doe@example.com", "JO.DOE@EXAMPLE.COM", " Jo.Doe@example.com "])
def test_the_email_matches_case_insensitively(server, headers, pk, email):
    execute(server, headers, simulateOutcome="failed")
    assert paywall(server, pk, email)["failedPaymentCount"] == 1


def test_the_secret_key_reads_it_too_and_other_clients_see_nothing(app, server, headers, pk):
    execute(server, headers, simulateOutcome="failed")
    assert paywall(server, headers)["isPastDue"] is True
    with app.app_context():
        other = onboard(name="Other", webhook_url=None, gateway="test")
    assert paywall(server, {"X-API-KEY": other.publishable_key}) == GOOD_STANDING


def test_a_card_update_recovers_the_payment(app, server, headers, pk):
    """The customer clicks the overlay's button, enters a new card, and is no longer past due."""
    queued = execute(server, headers, paymentMethodToken="pm_old", originalDeclineCode="expired_card").json()
    assert paywall(server, pk)["isPastDue"] is True
    link = requests.post(
        f"{server}/api/recovery/update-card/generate",
        headers=headers,
        timeout=10,
        json={"paymentMethodToken": "pm_old"},
    ).json()
    page = requests.get(server + page_path(link), timeout=10).text
    done = requests.post(
        server + page_path(link),
        timeout=10,
        data={"csrf": csrf_of(page), "number": "4242 4242 4242 4242", "expiry": "12/30", "cvc": "123"},
    )
    assert done.status_code == 400  # not a test card: nothing changes
    assert paywall(server, pk)["isPastDue"] is True
    done = requests.post(
        server + page_path(link),
        timeout=10,
        data={"csrf": csrf_of(page), "number": "4111 1111 1111 1111", "expiry": "12/30", "cvc": "123"},
    )
    assert done.status_code == 200
    status = requests.get(
        f"{server}/api/recovery/status/{queued['transactionId']}", headers=headers, timeout=10
    ).json()
    assert status["status"] == "succeeded"
    assert paywall(server, pk) == GOOD_STANDING


def test_a_scheduled_retry_that_recovers_clears_it(app, server, headers, pk):
    queued = execute(server, headers, originalDeclineCode="insufficient_funds").json()
    assert paywall(server, pk)["failedPaymentCount"] == 1
    advance(app, seconds=10)  # the test gateway's first rung
    assert sweep(app)["recoveries"] == 1  # the real scheduler and worker
    with app.app_context():
        assert db.session.get(Recovery, queued["transactionId"]).status == "succeeded"
    assert paywall(server, pk) == GOOD_STANDING


def test_a_later_payment_settles_earlier_failures_oldest_first(app, server, headers, pk):
    execute(server, headers, simulateOutcome="failed", amount=4900)  # January
    advance(app, days=31)
    execute(server, headers, paymentMethodToken="pm_b", simulateOutcome="failed", amount=4900)  # February
    advance(app, days=1)
    assert paywall(server, pk)["failedPaymentCount"] == 2
    # the merchant charges the customer again, and it goes through: one 49.00 is paid
    assert execute(server, headers, paymentMethodToken="pm_new", amount=4900).json()["success"] is True
    body = paywall(server, pk)
    assert (body["failedPaymentCount"], body["totalOwedCents"]) == (1, 4900)
    assert body["oldestFailureAt"] == "2026-04-17T12:00:00.000Z"  # January's was the one settled


def test_an_organic_success_with_the_customers_email_settles_failures(app, server, headers, pk):
    execute(server, headers, simulateOutcome="failed", amount=4900)
    advance(app, minutes=1)
    execute(server, headers, paymentMethodToken="pm_b", simulateOutcome="failed", amount=2500)
    advance(app, minutes=1)
    pulse = requests.post(
        f"{server}/api/recovery/pulse", headers=headers, timeout=10, json={"amount": 5000, "currency": "USD"}
    )  # whose? unknown: settles nothing
    assert pulse.status_code == 200
    assert paywall(server, pk)["failedPaymentCount"] == 2
    pulse = requests.post(
        f"{server}/api/recovery/pulse",
        headers=headers,
        timeout=10,
        json={"amount": 2500, "currency": "EUR", "customerEmail": "JO.DOE@example.com"},
    )
    assert pulse.status_code == 200
    assert paywall(server, pk)["failedPaymentCount"] == 2  # another currency pays nothing here
    pulse = requests.post(
        f"{server}/api/recovery/pulse",
        headers=headers,
        timeout=10,
        json={"amount": 7400, "customerEmail": "jo.doe@example.com"},
    )
    assert pulse.status_code == 200
    assert paywall(server, pk) == GOOD_STANDING  # 74.00 covers both


def test_a_pulse_email_is_validated(server, headers):
    r = requests.post(
        f"{server}/api/recovery/pulse",
        headers=headers,
        timeout=10,
        json={"amount": 2500, "customerEmail": "not an email"},
    )
    assert r.status_code == 400 and "customerEmail" in r.json()["fields"]


# -- the rule, in one function ----------------------------------------------------------------------


def open_failures(app, client_id: str, email: str = CUSTOMER) -> list[str]:
    with app.app_context():
        return [r.id for r in unrecovered_failures(client_id, email)]


def test_what_counts_as_unrecovered(app, merchant):
    assert set(UNRECOVERED_STATES) == {"failed", "blocked", "queued", "awaiting_card"}
    cid = merchant.client_id
    waiting = insert(app, cid, AWAITING_CARD, amount=1000)
    advance(app, seconds=1)
    insert(app, cid, PROCESSING, amount=2000)  # being worked on right now
    insert(app, cid, UNKNOWN, amount=3000)  # the gateway's answer is being reconciled
    insert(app, cid, "holdout", amount=4000)  # Proof Mode's control group gets no intervention
    insert(app, cid, "failed", amount=5000, email="someone.else@example.com")
    failed_eur = insert(app, cid, "failed", amount=6000, currency="EUR")
    assert open_failures(app, cid, "JO.DOE@EXAMPLE.COM") == [waiting, failed_eur]
    advance(app, seconds=1)
    insert(app, cid, "succeeded", amount=999)  # less than any failure: settles none
    assert open_failures(app, cid) == [waiting, failed_eur]
    insert(app, cid, "succeeded", amount=1500)  # covers the 10.00 one, not the EUR one
    assert open_failures(app, cid) == [failed_eur]


def test_a_success_reported_before_a_failure_does_not_settle_it(app, merchant):
    cid = merchant.client_id
    insert(app, cid, "succeeded", amount=4900)
    advance(app, seconds=1)
    failed = insert(app, cid, "failed", amount=4900)
    assert open_failures(app, cid) == [failed]


def test_mixed_currencies_total_the_latest_failures_currency(app, server, merchant, pk):
    insert(app, merchant.client_id, "failed", amount=1000, currency="EUR")
    advance(app, seconds=1)
    insert(app, merchant.client_id, "failed", amount=500, currency="JPY")
    advance(app, seconds=1)
    insert(app, merchant.client_id, "failed", amount=700, currency="JPY")
    body = paywall(server, pk)
    assert body == {
        "isPastDue": True,
        "totalOwedCents": 1200,
        "currency": "JPY",
        "failedPaymentCount": 3,
        "oldestFailureAt": "2026-03-17T12:00:00.000Z",
    }


# -- errors, keys, limits --------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"customerEmail": "nope"}, {"customerEmail": "a@b.c" + "x" * 320}])
def test_a_missing_or_bad_email_is_a_400(server, pk, params):
    r = requests.get(server + PATH, params=params, headers=pk, timeout=10)
    assert r.status_code == 400
    assert r.json()["error"] == "Validation failed." and "customerEmail" in r.json()["fields"]
    assert r.headers["Access-Control-Allow-Origin"] == "*"  # a browser can read why


def test_no_key_a_bad_key_and_a_rotated_key_are_401(app, server, merchant, pk):
    bearer = {"Authorization": f"Bearer {merchant.publishable_key}"}
    for headers in ({}, {"X-API-KEY": "rev_pk_nope"}, bearer):
        r = requests.get(server + PATH, params={"customerEmail": CUSTOMER}, headers=headers, timeout=10)
        assert r.status_code == 401 and r.json() == {
            "error": "Unauthorized",
            "message": "Missing or invalid API key.",
        }
        assert r.headers["Access-Control-Allow-Origin"] == "*"
    with app.app_context():
        fresh = rotate_keys(merchant.client_id)
    r = requests.get(server + PATH, params={"customerEmail": CUSTOMER}, headers=pk, timeout=10)
    assert r.status_code == 401
    assert paywall(server, {"X-API-KEY": fresh.publishable_key}) == GOOD_STANDING


def test_120_requests_a_minute_per_key_then_the_documented_429(app, client, merchant, headers, pk):
    url = f"{PATH}?customerEmail=jo@example.com"
    for _ in range(120):
        assert client.get(url, headers=pk).status_code == 200
    r = client.get(url, headers=pk)
    assert r.status_code == 429
    assert r.get_json() == {
        "error": "Too many paywall status requests. Rate limit: 120 requests per minute per API key.",
        "retryAfter": "60 seconds",
    }
    assert r.headers["Retry-After"] == "60" and r.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get(url, headers=headers).status_code == 200  # the secret key counts on its own


def test_the_preflight_allows_any_origin_and_the_api_key_header(server):
    r = requests.options(
        server + PATH,
        timeout=10,
        headers={
            "Origin": "https://app.merchant.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-api-key",
        },
    )
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-API-KEY" in r.headers["Access-Control-Allow-Headers"]
    assert "GET" in r.headers["Access-Control-Allow-Methods"]
    assert r.headers["Access-Control-Max-Age"] == "86400"


def test_other_api_endpoints_are_not_opened_to_browsers(server, headers):
    r = requests.get(
        f"{server}/api/recovery/status/nope", headers={**headers, "Origin": "https://x.example"}, timeout=10
    )
    assert r.status_code == 404 and "Access-Control-Allow-Origin" not in r.headers


# The endpoints that take no X-API-KEY at all: public tools, the card-update page, platform webhooks,
# the links in dunning emails.
PUBLIC = {
    "api.lookup_decline",
    "api.decline_dictionary",
    "api.lookup_bin",
    "api.openapi_json",
    "api.connector_webhook",
    "cardupdate.card_update_page",
    "cardupdate.card_update_continue",
    "cardupdate.confirm_payment",
    "dunning_public.unsubscribe",
    "dunning_public.click",
    "dunning_public.opened",
}


def _api_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            yield rule, app.view_functions[rule.endpoint]


def test_every_api_endpoint_says_which_keys_it_takes(app):
    unmarked = {rule.endpoint for rule, view in _api_rules(app) if not hasattr(view, "api_key_kinds")}
    assert unmarked <= PUBLIC, f"endpoints without require_api_key: {unmarked - PUBLIC}"
    publishable = {
        rule.endpoint for rule, view in _api_rules(app) if "publishable" in getattr(view, "api_key_kinds", ())
    }
    assert publishable == {"api.paywall_status"}


def test_a_publishable_key_gets_403_everywhere_else(app, client, pk):
    checked = 0
    for rule, view in _api_rules(app):
        if getattr(view, "api_key_kinds", None) != ("secret",):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<{name}>", "x").replace(f"<path:{name}>", "x")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = client.open(path, method=method, headers=pk, json={})
            assert r.status_code == 403, (method, path, r.status_code)
            assert r.get_json() == {
                "error": "Forbidden",
                "message": "Publishable keys (rev_pk_...) may only call GET /api/recovery/paywall-status.",
            }
            checked += 1
    assert checked >= 8  # execute, both status lookups, pulse, generate, predict x2, tokenize


def test_a_publishable_key_changes_nothing(app, client, merchant, pk):
    r = client.post("/api/recovery/execute", headers=pk, json={"paymentMethodToken": "pm_1", "amount": 5000})
    assert r.status_code == 403
    with app.app_context():
        assert db.session.execute(select(Recovery)).first() is None
        assert db.session.get(Client, merchant.client_id) is not None


# -- the snippet ----------------------------------------------------------------------------------------


def test_the_snippet_is_served_as_javascript_to_any_site(server):
    r = requests.get(f"{server}/revtain-paywall.js", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/javascript")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "max-age=300" in r.headers["Cache-Control"]
    assert "/api/recovery/paywall-status" in r.text and "sessionStorage" in r.text
    # nothing the merchant's CSP would have to allow as inline: no markup, no eval
    for forbidden in (
        "innerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        'setAttribute("style"',
        'createElement("style")',
        "cssText",
    ):
        assert forbidden not in r.text
    again = requests.get(
        f"{server}/revtain-paywall.js", timeout=10, headers={"If-None-Match": r.headers["ETag"]}
    )
    assert again.status_code == 304


def test_the_openapi_document_lists_the_paywall(client):
    doc = client.get("/api/openapi.json").get_json()
    op = doc["paths"]["/api/recovery/paywall-status"]["get"]
    assert op["parameters"][0]["name"] == "customerEmail" and op["parameters"][0]["required"] is True
    body = doc["components"]["schemas"]["PaywallStatus"]
    assert list(body["properties"]) == [
        "isPastDue",
        "totalOwedCents",
        "currency",
        "failedPaymentCount",
        "oldestFailureAt",
    ]
    assert {"ApiKey": []} in op["security"] and {"PublishableKey": []} in op["security"]
    assert "429" in op["responses"]
    assert "customerEmail" in doc["components"]["schemas"]["PulseRequest"]["properties"]
