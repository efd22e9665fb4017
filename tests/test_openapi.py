"""The OpenAPI document is generated from the code: every ``/api/`` route and every model field is in it,
it is a valid OpenAPI 3.1 document, its examples are what the models accept, and the outgoing webhooks'
documented events are what Revtain really sends."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import select

from revtain.api.openapi import api_rules, camel, openapi_path
from revtain.api.operations import ANY_METHOD, operations_of
from revtain.api.schemas import ExecuteRequest
from revtain.extensions import db
from revtain.models import WebhookEvent
from revtain.webhooks.events import WEBHOOKS

IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def doc(client) -> dict[str, Any]:
    r = client.get("/api/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    return r.get_json()


def _documented_operations(app):
    for rule in api_rules(app):
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - IGNORED_METHODS):
            yield rule, view, method


def _models_of(body: Any) -> list[type[BaseModel]]:
    if isinstance(body, type) and issubclass(body, BaseModel):
        return [body]
    return [model for arg in get_args(body) for model in _models_of(arg)]


def test_the_document_is_a_valid_openapi_3_1_document(doc):
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in OpenAPIV31SpecValidator(doc).iter_errors()]
    assert errors == []
    assert doc["openapi"] == "3.1.0"


def test_every_api_route_and_method_is_in_the_document(app, doc):
    checked = 0
    for rule, _view, method in _documented_operations(app):
        path = openapi_path(rule.rule)
        assert path in doc["paths"], f"{rule.rule} is missing from the document"
        assert method.lower() in doc["paths"][path], f"{method} {rule.rule} is missing from the document"
        checked += 1
    assert checked >= 15
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    routed = {(openapi_path(rule.rule), method.lower())
              for rule, _view, method in _documented_operations(app)}
    assert documented == routed


def test_every_api_view_says_what_it_does(app):
    """A route added without ``@documented`` still appears (bare); this test insists on the real thing,
    with a path model field for each URL variable."""
    bare = []
    for rule, view, method in _documented_operations(app):
        operations = operations_of(view)
        operation = operations.get(method) or operations.get(ANY_METHOD)
        if operation is None:
            bare.append(f"{method} {rule.rule} ({rule.endpoint})")
            continue
        assert operation.summary and operation.tags and operation.responses, rule.rule
        variables = {camel(name) for name in rule.arguments}
        fields = set(operation.path.model_fields) if operation.path else set()
        assert variables == fields, f"{rule.rule}: path model fields {fields} for variables {variables}"
    assert bare == []


def test_operation_ids_are_unique_and_the_contract_ones_are_kept(doc):
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert {"executeRecovery", "getStatus", "getStatusByIdempotencyKey", "logOrganicSuccess",
            "getPaywallStatus", "lookupDeclineCode", "listDeclineCodes", "tokenizeTestCard", "lookupBin",
            "generateCardUpdateLink", "predictRisk", "recordPredictionOutcome",
            "receiveConnectorWebhook"} <= set(ids)


def test_every_field_of_every_model_is_in_the_document(app, doc):
    """Fields added to a model (signals, timing, ...) appear without anyone listing them."""
    schemas = doc["components"]["schemas"]
    models: set[type[BaseModel]] = set()
    for _rule, view, _method in _documented_operations(app):
        for operation in operations_of(view).values():
            models.update(_models_of(operation.body))
            for reply in operation.responses.values():
                models.update(_models_of(reply.body))
    models.update(hook.model for hook in WEBHOOKS)
    assert ExecuteRequest in models and len(models) >= 25
    for model in models:
        properties = schemas[model.__name__]["properties"]
        assert list(properties) == list(model.model_fields), model.__name__


def test_query_parameters_come_from_the_query_models(doc):
    query = doc["paths"]["/api/recovery/status"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in query] == [("idempotencyKey", "query", True)]
    assert query[0]["schema"]["maxLength"] == 128
    paywall = doc["paths"]["/api/recovery/paywall-status"]["get"]["parameters"][0]
    assert paywall["description"] == "The customerEmail sent to execute (matched case-insensitively)"


def _check_example(body: Any, example: Any, where: str) -> None:
    if isinstance(body, dict):  # a raw schema (an HTML page, a platform's own body)
        return
    TypeAdapter(body).validate_python(example, context={"test_gateway": True})
    if isinstance(example, dict):
        fields = {name for model in _models_of(body) for name in model.model_fields}
        assert set(example) <= fields, f"{where}: {set(example) - fields} are not fields of {body}"


def test_every_example_is_what_its_model_accepts(app):
    checked = 0
    for rule, view, _method in _documented_operations(app):
        for operation in operations_of(view).values():
            for name, example in operation.examples.items():
                value = example.get("value", example)
                _check_example(operation.body, value, f"{rule.rule} example {name}")
                checked += 1
            for code, reply in operation.responses.items():
                if reply.example is not None:
                    _check_example(reply.body, reply.example, f"{rule.rule} {code}")
                    checked += 1
    assert checked >= 20


def test_the_contract_status_codes_and_error_strings(doc):
    execute = doc["paths"]["/api/recovery/execute"]["post"]["responses"]
    assert set(execute) == {"200", "202", "400", "401", "403", "409", "413", "429"}
    assert execute["429"]["content"]["application/json"]["example"] == {
        "error": "Too many recovery requests. Rate limit: 60 requests per minute per API key.",
        "retryAfter": "60 seconds",
    }
    assert execute["409"]["content"]["application/json"]["example"]["error"] == "Duplicate recovery request."
    assert execute["403"]["content"]["application/json"]["example"]["error"] == (
        "Transaction blocked by Revtain Risk Engine to protect Merchant Health.")
    assert execute["401"]["content"]["application/json"]["example"] == {
        "error": "Unauthorized", "message": "Missing or invalid API key."}
    generate = doc["paths"]["/api/recovery/update-card/generate"]["post"]["responses"]
    assert "201" in generate and "200" not in generate


def test_the_connector_endpoint_is_documented_without_an_api_key(doc):
    op = doc["paths"]["/api/connectors/{platform}/webhook/{clientId}"]["post"]
    assert op["security"] == []
    assert set(op["responses"]) == {"200", "400", "401", "404", "413"}
    platform = next(p for p in op["parameters"] if p["name"] == "platform")
    assert set(platform["schema"]["enum"]) == {"chargebee", "recurly", "stripe-billing", "braintree", "zuora",
                                                "shopify-recharge"}
    assert doc["components"]["schemas"]["ConnectorReceived"]["required"] == ["received"]


def test_the_outgoing_webhooks_are_openapi_3_1_webhooks(doc):
    assert set(doc["webhooks"]) == {"recovery.success", "recovery.failed", "recovery.blocked", "card.updated",
                                    "recovery.holdout", "merchant.alert", "recovery.pre_retry_check"}
    success = doc["webhooks"]["recovery.success"]["post"]
    assert {p["name"] for p in success["parameters"]} >= {"X-Revtain-Signature", "webhook-signature"}
    schema = doc["components"]["schemas"]["RecoverySuccessEvent"]
    assert list(schema["properties"])[:7] == ["event", "revtainTransactionId", "gatewayTransactionToken",
                                              "amount", "currency", "message", "strategyUsed"]


@pytest.mark.parametrize("outcome", ["success", "failed", "blocked"])
def test_the_events_really_sent_are_the_documented_ones(app, client, headers, outcome):
    """The body stored for delivery (the bytes the merchant gets) validates against the documented event,
    whose models refuse a key they do not declare."""
    body = {"paymentMethodToken": f"pm_{outcome}", "amount": 5000, "simulateOutcome": outcome,
            "idempotencyKey": f"inv_{outcome}"}
    r = client.post("/api/recovery/execute", json=body, headers=headers)
    assert r.status_code in (200, 403), r.get_json()
    by_event = {hook.event: hook.model for hook in WEBHOOKS}
    with app.app_context():
        events = db.session.execute(select(WebhookEvent)).scalars().all()
        assert [e.type for e in events] == [f"recovery.{outcome}"]
        for event in events:
            payload = json.loads(event.body)
            by_event[event.type].model_validate(payload)
            assert payload["event"] == event.type and payload["eventId"] == event.id


def test_the_holdout_and_card_updated_payloads_are_the_documented_ones(app, client, headers, merchant):
    """Built from a real recovery (with an idempotency key and the simulated flag, so every optional
    key is there), with the eventId the outbox adds."""
    from revtain.models import Client, Recovery
    from revtain.webhooks import payloads

    body = {"paymentMethodToken": "pm_opt", "amount": 5000, "simulateOutcome": "failed",
            "idempotencyKey": "inv_opt", "customerEmail": "jo@example.com"}
    tx = client.post("/api/recovery/execute", json=body, headers=headers).get_json()["transactionId"]
    by_event = {hook.event: hook.model for hook in WEBHOOKS}
    with app.app_context():
        recovery = db.session.get(Recovery, tx)
        owner = db.session.get(Client, merchant.client_id)
        built = [
            payloads.card_updated("pm_opt", "pm_new", recovery, recovery.created_at),
            payloads.card_updated("pm_opt", "pm_new", None, recovery.created_at),
            payloads.recovery_holdout(owner, recovery),
            payloads.recovery_success(recovery, "scheduled_retry"),
            payloads.recovery_failed(recovery, "reconciliation"),
            payloads.recovery_blocked(recovery),
        ]
    for payload in built:
        model = by_event[payload["event"]]
        model.model_validate({**payload, "eventId": "01KKZ14FEZK152ZBXEM2XK1B0C"})
        assert set(payload) <= set(model.model_fields), payload["event"]


def test_the_webhook_examples_are_what_their_models_accept(doc):
    checked = 0
    for hook in WEBHOOKS:
        if hook.example is not None:
            hook.model.model_validate(hook.example)
            assert set(hook.example) <= set(hook.model.model_fields)
            body = doc["webhooks"][hook.event]["post"]["requestBody"]["content"]["application/json"]
            assert body["example"] == hook.example
            checked += 1
    assert checked >= 4
