"""Developer tools (contract 3.12): ``GET /api/lookup/decline/{gateway}/{code}`` and the decline dictionary
``GET /api/lookup/declines``. Public, CORS open, fair-use rate limited per IP."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from revtain.engine import declines

LOOKUP_KEYS = ["gateway", "gatewayLabel", "rawCode", "canonicalCode", "category", "plainEnglish",
               "variantsOnOtherGateways"]
DICTIONARY_KEYS = ["gateway", "gatewayLabel", "rawCode", "description", "canonicalCode", "category", "family",
                   "recommendedAction", "neverRetry", "plainEnglish"]
CONTRACT_GATEWAYS = ["stripe", "braintree", "adyen", "checkout", "authnet", "dlocal", "worldpay", "razorpay",
                     "paystack"]


@pytest.fixture
def app(make_app):
    return make_app(LOOKUP_RATE_LIMIT="100000 per minute")


def assert_validation_error(body, field: str) -> None:
    assert list(body) == ["error", "message", "fields"], body
    assert body["error"] == "Validation failed."
    assert list(body["fields"]) == [field]
    assert body["message"] == f"{field}: {body['fields'][field]}"


# --- one code -------------------------------------------------------------------------------------------


def test_lookup_shape_and_key_order(client):
    r = client.get("/api/lookup/decline/braintree/2001")
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["X-Revtain-Catalogue-Version"] == str(declines.version())
    body = r.get_json()
    assert list(body) == LOOKUP_KEYS
    assert body["gateway"] == "braintree" and body["gatewayLabel"] == "Braintree"
    assert body["rawCode"] == "2001"
    assert body["canonicalCode"] == "insufficient_funds"
    assert body["category"] == "soft"
    assert body["plainEnglish"].startswith("The customer's account is short on funds. Retry near p")
    variants = body["variantsOnOtherGateways"]
    assert all(list(v) == ["gateway", "gatewayLabel", "rawCode"] for v in variants)
    pairs = {(v["gateway"], v["rawCode"]) for v in variants}
    expected = {("stripe", "insufficient_funds"), ("network", "51"), ("checkout", "20051"), ("adyen", "12")}
    assert expected <= pairs
    assert all(v["gateway"] != "braintree" for v in variants)
    # the raw JSON keeps the documented order too
    assert r.get_data(as_text=True).index('"gateway"') < r.get_data(as_text=True).index('"gatewayLabel"')


def test_braintree_2010_is_the_cvv_decline_it_really_is(client):
    """The contract's example maps braintree/2010 to insufficient_funds; Braintree's 2010 is "Card Issuer
    Declined CVV". We follow Braintree; 2001 is insufficient funds."""
    body = client.get("/api/lookup/decline/braintree/2010").get_json()
    assert (body["canonicalCode"], body["category"]) == ("incorrect_cvc", "hard")


@pytest.mark.parametrize(
    ("path", "canonical", "category", "raw"),
    [
        ("stripe/do_not_honor", "do_not_honor", "soft", "do_not_honor"),
        ("stripe/expired_card", "expired_card", "hard", "expired_card"),
        ("stripe/Lost_Card", "lost_card", "fraud", "lost_card"),
        ("braintree/gateway_rejected:fraud", "fraud_suspected", "fraud", "gateway_rejected:fraud"),
        ("braintree/2099", "authentication_required", "auth_required", "2099"),
        ("braintree/3000", "processing_error", "technical", "3000"),
        ("adyen/" + quote("Not enough balance"), "insufficient_funds", "soft", "12"),
        ("checkout/20005", "do_not_honor", "soft", "20005"),
        ("authnet/8", "expired_card", "hard", "8"),
        ("worldpay/51", "insufficient_funds", "soft", "51"),
        ("network/r0", "stop_payment_order", "hard", "R0"),
        ("dlocal/insufficient_funds", "insufficient_funds", "soft", "insufficient_funds"),
        ("paystack/gateway_timeout", "gateway_timeout", "technical", "gateway_timeout"),
    ],
)
def test_lookup_per_gateway(client, path, canonical, category, raw):
    body = client.get(f"/api/lookup/decline/{path}").get_json()
    assert (body["canonicalCode"], body["category"], body["rawCode"]) == (canonical, category, raw)
    assert body["gatewayLabel"] == declines.gateways()[path.split("/")[0]]


@pytest.mark.parametrize("code", ["9999", "not_a_real_code", "a/b", "%25", quote("héllo wörld")])
def test_unknown_code_is_200_unknown(client, code):
    r = client.get(f"/api/lookup/decline/stripe/{code}")
    assert r.status_code == 200
    body = r.get_json()
    assert list(body) == LOOKUP_KEYS
    assert (body["canonicalCode"], body["category"]) == ("unknown", "unknown")
    assert body["variantsOnOtherGateways"] == []
    assert body["plainEnglish"]


@pytest.mark.parametrize("gateway", ["paypal", "Stripe", "iso", "test", "stripe "])
def test_unknown_gateway_is_400(client, gateway):
    r = client.get(f"/api/lookup/decline/{quote(gateway)}/insufficient_funds")
    assert r.status_code == 400
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    body = r.get_json()
    assert_validation_error(body, "gateway")
    assert body["message"].startswith("gateway: must be one of: stripe, braintree, adyen")


def test_every_documented_gateway_is_accepted(client):
    for gateway in [*CONTRACT_GATEWAYS, "network"]:
        assert client.get(f"/api/lookup/decline/{gateway}/insufficient_funds").status_code == 200, gateway


def test_a_code_that_is_too_long_is_400(client):
    r = client.get("/api/lookup/decline/stripe/" + "x" * 65)
    assert r.status_code == 400
    assert_validation_error(r.get_json(), "code")
    assert client.get("/api/lookup/decline/stripe/" + "x" * 64).status_code == 200


def test_no_api_key_is_needed_and_a_wrong_one_is_ignored(client):
    assert client.get("/api/lookup/decline/stripe/fraudulent").status_code == 200
    r = client.get("/api/lookup/declines", headers={"X-API-KEY": "rev_" + "x" * 32})
    assert r.status_code == 200


# --- the dictionary ---------------------------------------------------------------------------------------


def test_the_dictionary(client):
    r = client.get("/api/lookup/declines")
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    entries = r.get_json()
    assert isinstance(entries, list) and len(entries) > 150
    assert all(list(e) == DICTIONARY_KEYS for e in entries)
    assert {e["gateway"] for e in entries} >= {"stripe", "braintree", "network"}
    lost = next(e for e in entries if (e["gateway"], e["rawCode"]) == ("braintree", "2012"))
    assert lost == {
        "gateway": "braintree",
        "gatewayLabel": "Braintree",
        "rawCode": "2012",
        "description": "Processor Declined - Possible Lost Card",
        "canonicalCode": "lost_card",
        "category": "fraud",
        "family": "lost_stolen",
        "recommendedAction": "manual_review",
        "neverRetry": True,
        "plainEnglish": "The card was reported lost. Never retry it.",
    }


def test_the_dictionary_filtered_by_gateway(client):
    braintree = client.get("/api/lookup/declines?gateway=braintree").get_json()
    assert len(braintree) > 100 and all(e["gateway"] == "braintree" for e in braintree)
    worldpay = client.get("/api/lookup/declines?gateway=worldpay").get_json()
    assert worldpay and all(e["gatewayLabel"] == "Worldpay" for e in worldpay)
    assert client.get("/api/lookup/declines?gateway=dlocal").get_json() == []


@pytest.mark.parametrize("query", ["gateway=nope", "gateway=", "gateway=stripe&gateway=braintree"])
def test_a_bad_dictionary_filter_is_400(client, query):
    r = client.get(f"/api/lookup/declines?{query}")
    assert r.status_code == 400
    assert_validation_error(r.get_json(), "gateway")
    assert r.headers["Access-Control-Allow-Origin"] == "*"


# --- CORS and fair use ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/lookup/decline/stripe/insufficient_funds", "/api/lookup/declines"])
def test_preflight(client, path):
    r = client.options(
        path,
        headers={
            "Origin": "https://docs.example.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "content-type, x-requested-with",
        },
    )
    assert r.status_code in (200, 204)
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in r.headers["Access-Control-Allow-Methods"]
    assert r.headers["Access-Control-Allow-Headers"] == "content-type, x-requested-with"
    assert int(r.headers["Access-Control-Max-Age"]) > 0


def test_cors_on_a_404_under_the_lookup_paths(client):
    r = client.get("/api/lookup/decline/stripe")
    assert r.status_code == 404 and r.get_json()["error"] == "Not found."
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_other_endpoints_are_not_cors_open(client, headers):
    r = client.get("/api/recovery/status/01ARZ3NDEKTSV4RRFFQ69G5FAV", headers=headers)
    assert "Access-Control-Allow-Origin" not in r.headers


def test_fair_use_rate_limit_per_ip_shared_by_both_endpoints(make_app):
    client = make_app(LOOKUP_RATE_LIMIT="3 per minute").test_client()
    assert client.get("/api/lookup/decline/stripe/fraudulent").status_code == 200
    assert client.get("/api/lookup/declines").status_code == 200
    assert client.options("/api/lookup/declines").status_code in (200, 204)  # preflight is free
    assert client.get("/api/lookup/decline/braintree/2001").status_code == 200
    r = client.get("/api/lookup/declines")
    assert r.status_code == 429
    assert r.get_json() == {
        "error": "Too many lookup requests. Rate limit: 3 requests per minute per IP address.",
        "retryAfter": "60 seconds",
    }
    assert r.headers["Retry-After"] == "60"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    # another IP has its own budget
    other = client.get("/api/lookup/declines", environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert other.status_code == 200


def test_the_default_fair_use_limit(make_app):
    from revtain.api.lookup import DEFAULT_RATE_LIMIT, _rate_limit

    with make_app().app_context():
        assert _rate_limit() == DEFAULT_RATE_LIMIT == "300 per minute"


# --- OpenAPI and a fuzz of both operations ---------------------------------------------------------------


def test_openapi_documents_both_operations(client):
    doc = client.get("/api/openapi.json").get_json()
    one = doc["paths"]["/api/lookup/decline/{gateway}/{code}"]["get"]
    many = doc["paths"]["/api/lookup/declines"]["get"]
    for operation in (one, many):
        assert operation["security"] == []
        assert set(operation["responses"]) >= {"200", "400", "429"}
    gateway = next(p for p in one["parameters"] if p["name"] == "gateway")
    assert gateway["schema"]["enum"][: len(CONTRACT_GATEWAYS)] == CONTRACT_GATEWAYS
    schemas = doc["components"]["schemas"]
    assert list(schemas["DeclineLookup"]["properties"]) == LOOKUP_KEYS
    assert list(schemas["DeclineDictionaryEntry"]["properties"]) == DICTIONARY_KEYS


OPERATIONS = [("/api/lookup/decline/{gateway}/{code}", "GET"), ("/api/lookup/declines", "GET")]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[p for p, _ in OPERATIONS])
def test_schema_fuzz(app, path, method, mode):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=schemathesis.Config(seed=0))
    operation = schema[path][method]
    seen: set[int] = set()

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case):
        checks = CHECKS if mode.is_positive else [*CHECKS, negative_data_rejection]
        response = case.call_and_validate(checks=checks)
        seen.add(response.status_code)
        assert response.headers.get("access-control-allow-origin") == ["*"]
        if response.status_code == 400:
            body = response.json()
            assert body["error"] == "Validation failed." and body["fields"]

    fuzz()
    assert not any(code >= 500 for code in seen)
    if mode.is_positive:
        assert 200 in seen, seen
