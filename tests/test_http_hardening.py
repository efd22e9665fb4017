"""What every response gets: HSTS over HTTPS, 405 with Allow, a 503 with Retry-After when the
database does not answer; plus the card-update page's limit on token guesses and the OpenAPI
document's promise about NUL characters."""

from __future__ import annotations

import re

import pytest

from revtain.onboarding import onboard
from tests.support.processes import free_port

MAIN = "http://revtain.test"


# --- HSTS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/healthz", "/dashboard/login", "/api/openapi.json", "/api/recovery/update-card/not-a-token"]
)
def test_https_responses_carry_hsts_and_plain_http_ones_do_not(client, path):
    secure = client.get(path, base_url="https://revtain.test")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get(path, base_url=MAIN).headers


def test_hsts_behind_a_trusted_proxy_follows_x_forwarded_proto(make_app):
    app = make_app(TRUSTED_PROXIES=1, HSTS_MAX_AGE=600)
    r = app.test_client().get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert r.headers["Strict-Transport-Security"] == "max-age=600"
    assert "Strict-Transport-Security" not in app.test_client().get("/healthz").headers


# --- methods -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/recovery/execute", {"POST", "OPTIONS"}),
        ("/api/recovery/update-card/abc", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("/api/openapi.json", {"GET", "HEAD", "OPTIONS"}),
        ("/dashboard/login", {"GET", "HEAD", "POST", "OPTIONS"}),
        ("/healthz", {"GET", "HEAD", "OPTIONS"}),
    ],
)
@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "DELETE"])
def test_unsupported_methods_are_405_with_an_allow_header(client, path, allowed, method):
    r = client.open(path, method=method)
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["Allow"].split(",")} == allowed
    if path.startswith("/api/"):
        assert r.get_json()["error"] == "Method not allowed."


# --- the database does not answer ----------------------------------------------------------------


@pytest.fixture
def no_database(app, make_app):
    """The app on a PostgreSQL server that is not there (``app``, built first, cleans up)."""
    return make_app(DATABASE_URL=f"postgresql://revtain@127.0.0.1:{free_port()}/gone")


def test_the_api_answers_503_json_with_retry_after(no_database):
    r = no_database.test_client().post(
        "/api/recovery/execute",
        headers={"X-API-KEY": "rev_" + "x" * 32},
        json={"paymentMethodToken": "pm_1", "amount": 5000},
    )
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "30"
    body = r.get_json()
    assert body["error"] == "Service temporarily unavailable."
    assert body["retryAfter"] == "30 seconds" and "idempotencyKey" in body["message"]


def test_the_card_update_page_answers_503_with_a_friendly_page(no_database):
    r = no_database.test_client().get("/api/recovery/update-card/some-token", base_url=MAIN)
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "30"
    page = r.get_data(as_text=True)
    assert "Back in a moment" in page and "try again in 30 seconds" in page
    assert "Traceback" not in page and "psycopg" not in page


def test_a_sign_in_attempt_answers_503_too(no_database):
    browser = no_database.test_client()
    page = browser.get("/dashboard/login").get_data(as_text=True)
    token = re.search(r'csrf_token"[^>]*value="([^"]+)"', page).group(1)
    r = browser.post(
        "/dashboard/login",
        data={"csrf_token": token, "email": "a@b.example", "password": "whatever password"},
    )
    assert r.status_code == 503 and "Back in a moment" in r.get_data(as_text=True)


# --- card-update token guesses -------------------------------------------------------------------


def card_update_link(app, receiver) -> tuple[object, str]:
    """A test client of ``app`` and the path of a real card-update link."""
    with app.app_context():
        merchant = onboard(name="Acme", webhook_url=receiver.url)
    client = app.test_client()
    r = client.post(
        "/api/recovery/update-card/generate",
        json={"paymentMethodToken": "pm_1"},
        headers={"X-API-KEY": merchant.api_key},
    )
    return client, f"/api/recovery/update-card/{r.get_json()['token']}"


def test_card_update_token_guesses_are_rate_limited_per_ip(make_app, receiver):
    client, real = card_update_link(make_app(CARD_UPDATE_GUESS_RATE_LIMIT="5 per 10 minutes"), receiver)

    for n in range(5):
        r = client.get(f"/api/recovery/update-card/guess-{n}", base_url=MAIN)
        assert r.status_code == 404
    r = client.get("/api/recovery/update-card/guess-5", base_url=MAIN)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "600"
    assert "Please wait a few minutes" in r.get_data(as_text=True)
    # the guesser is held even with a real token; the limit is per client IP
    assert client.get(real, base_url=MAIN).status_code == 429
    assert client.get(real, base_url=MAIN, environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code == 200


def test_opening_a_real_link_again_and_again_costs_nothing(make_app, receiver):
    client, real = card_update_link(make_app(CARD_UPDATE_GUESS_RATE_LIMIT="2 per 10 minutes"), receiver)
    for _ in range(5):
        assert client.get(real, base_url=MAIN).status_code == 200


# --- OpenAPI -------------------------------------------------------------------------------------


def _only_named_characters(pattern: str) -> bool:
    """An anchored pattern built only of explicit character classes cannot match a NUL: no ``.``,
    no negated class, no ``\\S``/``\\W``/``\\D``."""
    anchored = pattern.startswith("^") and pattern.endswith("$")
    return anchored and not any(wide in pattern for wide in (".", "[^", "\\S", "\\W", "\\D"))


def test_the_openapi_document_declares_that_nul_characters_are_refused(client):
    doc = client.get("/api/openapi.json").get_json()
    assert "NUL character (U+0000)" in doc["info"]["description"]
    schemas = doc["components"]["schemas"]

    def strings(schema):
        for prop in schema.get("properties", {}).values():
            for branch in [prop, *prop.get("anyOf", ())]:
                if branch.get("type") == "string" and "enum" not in branch:
                    yield branch
                if branch.get("type") == "array":
                    yield branch["items"]

    checked = 0
    for name in ("ExecuteRequest", "PulseRequest", "RiskRequest", "OutcomeRequest", "CardUpdateLinkRequest"):
        for string in strings(schemas[name]):
            assert "\\x00" in string["pattern"] or _only_named_characters(string["pattern"]), string
            checked += 1
    assert checked >= 10
    status = doc["paths"]["/api/recovery/status/{transactionId}"]["get"]["parameters"][0]["schema"]
    by_key = doc["paths"]["/api/recovery/status"]["get"]["parameters"][0]["schema"]
    assert status["pattern"] == by_key["pattern"] == "^[^\\x00]*$"


def test_a_signed_in_dashboard_page_answers_503_with_a_friendly_page(app, client, no_database, receiver):
    from revtain.dashboard.accounts import create_user
    from tests.test_dashboard import PASSWORD, login

    with app.app_context():
        merchant = onboard(name="Acme", webhook_url=receiver.url)
        create_user(merchant.client_id, "admin@acme.example", "admin", PASSWORD)
    assert login(client, "admin@acme.example").status_code == 302
    browser = no_database.test_client()
    browser.set_cookie("session", client.get_cookie("session").value)
    r = browser.get("/dashboard/recoveries")
    assert r.status_code == 503 and r.headers["Retry-After"] == "30"
    assert "Back in a moment" in r.get_data(as_text=True)
