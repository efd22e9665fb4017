"""``GET /api/openapi.json``: OpenAPI 3.1, built from the app's registered ``/api/`` routes, the
``@documented`` metadata on their views (``operations.py``), the pydantic models that validate the
requests and describe the answers (``schemas.py``), and the outgoing webhooks (``webhooks/events.py``).

Nothing here lists a route or a field: a new route appears as soon as it is registered (a bare one, until
its view says more; a test insists that it does), and a new model field as soon as it is declared.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin

from flask import Flask, current_app, jsonify
from pydantic import BaseModel
from werkzeug.routing import Rule

from ..webhooks.events import WEBHOOKS
from . import bp
from .auth import PUBLISHABLE_FORBIDDEN, UNAUTHORIZED
from .errors import validation_error
from .operations import ANY_METHOD, Operation, Reply, documented, operations_of
from .schemas import Error

REF = "#/components/schemas/{model}"
EXTENSION = "revtain.openapi"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")

DESCRIPTION = """Recovery of failed subscription payments.

**Authentication.** Send your secret key (`rev_…`) in the `X-API-KEY` header; `Authorization: Bearer`
is not accepted. The publishable key (`rev_pk_…`) is only for `GET /api/recovery/paywall-status`.
The developer tools (`/api/lookup/…`) and this document are public.

**Requests and errors.** JSON bodies (`Content-Type: application/json`), at most 1 MB; unknown body
fields are ignored. Amounts are integers in the currency's smallest unit. Bad input is a 400
`{"error": "Validation failed.", "message": "<field>: <problem>", "fields": {...}}`.
No string sent to the recovery and prediction operations may contain a NUL character (U+0000): such a
request is refused (400, or 404 for a transaction id in the path).

**Rate limits.** execute 60, tokenize 10 and paywall-status 120 requests a minute per key; the
developer tools 300 a minute per IP address. Over the limit: 429 with `retryAfter` and `Retry-After`.

**Our additions to the published API** (optional; clients that send none behave as before):
`networkDeclineCode`, `merchantAdviceCode` and `cardNetwork` (the first failure's network signals, on
execute and predict/risk), `customerTimezone` and `customerCountry` (the customer's clock),
`customerLocale`, `description` and `customerPhone` on execute; an unknown value is a 400 naming the
field. `recoveryState` (the internal state, e.g. `awaiting_card`) on the status body, the execute
answers and every recovery webhook, beside the documented `status`, whose values do not change.

**Webhooks.** Outcomes reach your webhook URL as signed events (see *Webhooks*)."""

TAGS = [
    {"name": "Recovery", "description": "Recover a failed payment and follow it."},
    {"name": "Card updates", "description": "Links to a hosted page where the customer updates their card."},
    {"name": "Paywall", "description": "Whether a customer is past due, for the in-app paywall."},
    {"name": "Prediction", "description": "The risk of a scheduled charge, and its outcome."},
    {"name": "Test mode", "description": "Revtain Test Gateway only."},
    {"name": "Dunning emails", "description": "The links in dunning emails, for the customer: unsubscribe, "
     "the tracked click, the open pixel."},
    {"name": "Developer tools", "description": "Public lookups: decline codes and BINs (CORS open)."},
    {"name": "Connectors", "description": "Webhooks from billing platforms (Chargebee, Recurly, Stripe "
     "Billing, Braintree, Zuora, Shopify ReCharge), authenticated the platform's way."},
    {"name": "Meta", "description": "This document."},
]
SECURITY_SCHEMES = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY", "description": "The secret key, rev_…"},
    "PublishableKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY",
                       "description": "The publishable key, rev_pk_…: only for "
                       "GET /api/recovery/paywall-status; 403 elsewhere"},
}
SIGNATURE_HEADERS = {
    "X-Revtain-Signature": "Lowercase hex HMAC-SHA256 of the raw body, keyed with the whole whsec_ secret",
    "webhook-id": "Standard Webhooks: the eventId (the checkId for a pre-retry check)",
    "webhook-timestamp": "Standard Webhooks: Unix time of this try",
    "webhook-signature": 'Standard Webhooks: "v1,<base64 HMAC-SHA256 of id.timestamp.body>"',
}


def openapi_path(rule: str) -> str:
    """``/api/recovery/status/<transaction_id>`` -> ``/api/recovery/status/{transactionId}``."""
    return _VARIABLE.sub(lambda m: "{" + camel(m.group(1)) + "}", rule)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


class _Schemas:
    """``components.schemas``, filled with each model met on the way (and the models it nests)."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}
        self._models: dict[str, type[BaseModel]] = {}

    def _add(self, model: type[BaseModel]) -> dict[str, Any]:
        name = model.__name__
        known = self._models.get(name)
        if known is not None and known is not model:
            raise ValueError(f"two models are named {name}: {known!r} and {model!r}")
        if known is None:
            self._models[name] = model
            schema = model.model_json_schema(ref_template=REF)
            for nested, nested_schema in schema.pop("$defs", {}).items():
                self.components.setdefault(nested, nested_schema)
            self.components[name] = schema
        return {"$ref": REF.format(model=name)}

    def of(self, body: Any) -> dict[str, Any]:
        """A model, ``list[...]``, a union, or a raw JSON Schema."""
        if isinstance(body, dict):
            return body
        if isinstance(body, type) and issubclass(body, BaseModel):
            return self._add(body)
        origin, args = get_origin(body), get_args(body)
        if origin is list:
            return {"type": "array", "items": self.of(args[0])}
        if origin in (Union, types.UnionType):
            return {"anyOf": [self.of(arg) for arg in args]}
        raise TypeError(f"cannot document {body!r}")

    def parameters(self, model: type[BaseModel], where: str) -> dict[str, dict[str, Any]]:
        schema = model.model_json_schema(ref_template=REF)
        for nested, nested_schema in schema.pop("$defs", {}).items():
            self.components.setdefault(nested, nested_schema)
        required = set(schema.get("required", ()))
        found = {}
        for name, prop in schema.get("properties", {}).items():
            prop = {k: v for k, v in prop.items() if k not in ("title", "description", "examples")}
            parameter = {"name": name, "in": where, "required": where == "path" or name in required,
                         "schema": prop}
            original = schema["properties"][name]
            if original.get("description"):
                parameter["description"] = original["description"]
            if original.get("examples"):
                parameter["example"] = original["examples"][0]
            found[name] = parameter
        return found


def _reply(schemas: _Schemas, reply: Reply) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": reply.description}
    if reply.headers:
        answer["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                             for name, text in reply.headers.items()}
    if reply.body is not None:
        content: dict[str, Any] = {"schema": schemas.of(reply.body)}
        if reply.example is not None:
            content["example"] = reply.example
        answer["content"] = {reply.media_type: content}
    return answer


def _implied_replies(operation: Operation, kinds: tuple[str, ...]) -> dict[str, Reply]:
    """The answers every operation of its kind gives, unless the view documents its own."""
    implied: dict[str, Reply] = {}
    example = validation_error({"amount": "is required"}).body
    if operation.body is not None or operation.query is not None:
        implied["400"] = Reply("Validation failed", body=Error, example=example)
    if kinds:
        implied["401"] = Reply("Missing or invalid API key", body=Error, example=UNAUTHORIZED)
    if kinds and "publishable" not in kinds:
        implied["403"] = Reply("A publishable key may not call this endpoint", body=Error,
                               example=PUBLISHABLE_FORBIDDEN)
    if operation.body is not None and "application/json" in operation.body_media_types:
        implied["413"] = Reply("Request body larger than 1 MB", body=Error)
    return implied


Security = list[dict[str, list]]


def _security(operation: Operation, view: Callable[..., Any]) -> tuple[Security, tuple[str, ...]]:
    """From ``require_api_key`` on the view, unless the operation says otherwise."""
    kinds = operation.security if operation.security is not None else getattr(view, "api_key_kinds", ())
    names = {"secret": "ApiKey", "publishable": "PublishableKey"}
    return [{names[kind]: []} for kind in kinds], tuple(kinds)


def _operation(schemas: _Schemas, rule: Rule, view: Callable[..., Any], operation: Operation
               ) -> dict[str, Any]:
    security, kinds = _security(operation, view)
    out: dict[str, Any] = {"operationId": operation.operation_id, "summary": operation.summary}
    if operation.description:
        out["description"] = operation.description
    if operation.tags:
        out["tags"] = list(operation.tags)
    out["security"] = security
    path_params = schemas.parameters(operation.path, "path") if operation.path else {}
    parameters = [
        path_params.get(camel(name)) or {"name": camel(name), "in": "path", "required": True,
                                         "schema": {"type": "string"}}
        for name in _VARIABLE.findall(rule.rule)
    ]
    if operation.query:
        parameters += schemas.parameters(operation.query, "query").values()
    if parameters:
        out["parameters"] = parameters
    if operation.body is not None:
        schema = schemas.of(operation.body)
        content: dict[str, Any] = {}
        for media_type in operation.body_media_types:
            content[media_type] = {"schema": schema}
            if operation.examples and media_type == "application/json":
                content[media_type]["examples"] = {
                    name: value if isinstance(value, dict) and "value" in value else {"value": value}
                    for name, value in operation.examples.items()
                }
        out["requestBody"] = {"required": True, "content": content}
    replies = {str(code): reply for code, reply in operation.responses.items()}
    for code, reply in _implied_replies(operation, kinds).items():
        replies.setdefault(code, reply)
    out["responses"] = {code: _reply(schemas, replies[code]) for code in sorted(replies)}
    return out


def _undocumented(rule: Rule, view: Callable[..., Any], method: str) -> Operation:
    """A route whose view says nothing: still listed (the test of the document fails on it)."""
    summary = (view.__doc__ or rule.endpoint).strip().splitlines()[0]
    return Operation(operation_id=f"{rule.endpoint.replace('.', '_')}_{method.lower()}", summary=summary,
                     responses={"default": Reply("Not documented yet")})


def api_rules(app: Flask) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")]


def _paths(app: Flask, schemas: _Schemas) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in api_rules(app):
        view = app.view_functions[rule.endpoint]
        declared = operations_of(view)
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            operation = declared.get(method) or declared.get(ANY_METHOD) or _undocumented(rule, view, method)
            item = paths.setdefault(openapi_path(rule.rule), {})
            item[method.lower()] = _operation(schemas, rule, view, operation)
    return paths


def _webhooks(schemas: _Schemas) -> dict[str, Any]:
    headers = [{"name": name, "in": "header", "required": True, "description": text,
                "schema": {"type": "string"}} for name, text in SIGNATURE_HEADERS.items()]
    hooks = {}
    for hook in WEBHOOKS:
        responses: dict[str, Any] = {"200": {"description": "Any 2xx within 10 seconds counts as delivered"}}
        if hook.answer is not None:
            responses = {
                "200": _reply(schemas, Reply("Any 2xx: proceed, or skip with a reason", body=hook.answer)),
                "default": {"description": "Anything else, or no answer in time: go ahead"},
            }
        hooks[hook.event] = {"post": {
            "operationId": "webhook_" + hook.event.replace(".", "_"),
            "summary": hook.summary,
            "description": hook.description,
            "parameters": headers,
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": schemas.of(hook.model), **({"example": hook.example} if hook.example else {})}}},
            "responses": responses,
        }}
    return hooks


def build(app: Flask) -> dict[str, Any]:
    schemas = _Schemas()
    paths = _paths(app, schemas)
    webhooks = _webhooks(schemas)
    used = {tag for item in paths.values() for op in item.values() for tag in op.get("tags", ())}
    tags = [tag for tag in TAGS if tag["name"] in used]
    tags += [{"name": name} for name in sorted(used - {tag["name"] for tag in TAGS})]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Revtain API", "version": "1.0.0", "description": DESCRIPTION,
                 "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}},
        "servers": [{"url": "/"}],
        "security": [{"ApiKey": []}],
        "tags": tags,
        "paths": paths,
        "webhooks": webhooks,
        "components": {"securitySchemes": SECURITY_SCHEMES,
                       "schemas": dict(sorted(schemas.components.items()))},
    }


def document(app: Flask | None = None) -> dict[str, Any]:
    """The app's document, built once per app (its routes are all registered by its first request)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if EXTENSION not in app.extensions:
        app.extensions[EXTENSION] = build(app)
    return app.extensions[EXTENSION]


@bp.get("/openapi.json")
@documented(
    "getOpenApiDocument", "This document (OpenAPI 3.1)", tags=("Meta",),
    description="Generated from the code. A browsable version is at /docs/api.",
    responses={200: Reply("The OpenAPI document", body={"type": "object"})},
)
def openapi_json():
    return jsonify(document())
