"""``GET /api/openapi.json``: OpenAPI 3.1, generated from the same schemas that validate requests."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import jsonify

from ..engine.declines import gateways
from . import bp
from .lookup import MAX_CODE_LENGTH
from .schemas import NO_NUL, schema_components


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


_COMMON = {
    "400": _json("Error", "Validation failed"),
    "401": _json("Error", "Missing or invalid API key"),
    "403": _json("Error", "A publishable key may not call this endpoint"),
}


def _lookup_responses(ok: dict[str, Any]) -> dict[str, Any]:
    """The developer tools are public (no API key) and rate-limited per IP for fair use."""
    return {
        "200": ok,
        "400": _json("Error", "Unknown gateway, or a code that is too long"),
        "404": _json("Error", "No such path"),
        "429": _json("RateLimited", "Fair-use rate limit exceeded"),
    }


def _gateway_schema() -> dict[str, Any]:
    return {"type": "string", "enum": list(gateways())}


@cache
def document() -> dict[str, Any]:
    status_responses = {
        "200": _json("Status", "The recovery"),
        "404": _json("Error", "No such transaction for this client"),
        **_COMMON,
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Revtain API",
            "version": "1.0.0",
            "description": "Recovery of failed subscription payments. Authenticate with X-API-KEY. "
            "No string sent to the recovery and prediction operations may contain a NUL character "
            "(U+0000): such a request is refused (400, or 404 for a transaction id in the path). "
            "Our additions to the published API: networkDeclineCode, merchantAdviceCode and "
            "cardNetwork on execute and predict/risk (the first failure's network signals; an "
            "unknown value is a 400 naming the field), and recoveryState (the internal state, e.g. "
            "awaiting_card) on the status body, the 202 and 403 execute answers and every recovery "
            "webhook.",
        },
        "servers": [{"url": "/"}],
        "security": [{"ApiKey": []}],
        "paths": {
            "/api/recovery/execute": {
                "post": {
                    "operationId": "executeRecovery",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("ExecuteRequest")}},
                    },
                    "responses": {
                        "200": {
                            "description": "Recovered now, all strategies exhausted, or held out",
                            "content": {
                                "application/json": {
                                    "schema": {"oneOf": [_ref("ExecuteResult"), _ref("Holdout")]}
                                }
                            },
                        },
                        "202": _json("Queued", "Queued for a smart-time retry, or (recoveryState "
                                     "awaiting_card) waiting for the customer's new card"),
                        "403": {
                            "description": "Blocked by the risk engine, or a publishable key",
                            "content": {
                                "application/json": {
                                    "schema": {"anyOf": [_ref("Blocked"), _ref("Error")]}
                                }
                            },
                        },
                        "409": _json("Duplicate", "Duplicate request (idempotency or velocity)"),
                        "429": _json("RateLimited", "Rate limit exceeded"),
                        "400": _COMMON["400"],
                        "413": _json("Error", "Request body larger than 1 MB"),
                        "401": _COMMON["401"],
                    },
                }
            },
            "/api/recovery/status/{transactionId}": {
                "get": {
                    "operationId": "getStatus",
                    "parameters": [
                        {
                            "name": "transactionId",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1, "pattern": NO_NUL},
                        }
                    ],
                    "responses": status_responses,
                }
            },
            "/api/recovery/status": {
                "get": {
                    "operationId": "getStatusByIdempotencyKey",
                    "parameters": [
                        {
                            "name": "idempotencyKey",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": NO_NUL},
                        }
                    ],
                    "responses": status_responses,
                }
            },
            "/api/recovery/pulse": {
                "post": {
                    "operationId": "logOrganicSuccess",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("PulseRequest")}},
                    },
                    "responses": {
                        "200": _json("PulseResult", "Logged"),
                        "413": _json("Error", "Request body larger than 1 MB"),
                        **_COMMON,
                    },
                }
            },
            "/api/recovery/paywall-status": {
                "get": {
                    "operationId": "getPaywallStatus",
                    "summary": "Whether a customer is past due (publishable or secret key, CORS open, "
                    "120 requests a minute per key)",
                    "security": [{"ApiKey": []}, {"PublishableKey": []}],
                    "parameters": [
                        {
                            "name": "customerEmail",
                            "in": "query",
                            "required": True,
                            "description": "The customerEmail sent to execute (matched case-insensitively)",
                            "schema": {"type": "string", "format": "email", "maxLength": 320},
                        }
                    ],
                    "responses": {
                        "200": _json("PaywallStatus", "The customer's unrecovered failed payments"),
                        "400": _COMMON["400"],
                        "401": _COMMON["401"],
                        "429": _json("RateLimited", "Rate limit exceeded"),
                    },
                }
            },
            "/api/lookup/decline/{gateway}/{code}": {
                "get": {
                    "operationId": "lookupDeclineCode",
                    "summary": "What a gateway's decline code means (public, CORS open)",
                    "security": [],
                    "parameters": [
                        {"name": "gateway", "in": "path", "required": True, "schema": _gateway_schema()},
                        {
                            "name": "code",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_CODE_LENGTH},
                        },
                    ],
                    "responses": _lookup_responses(
                        _json("DeclineLookup", "The code; canonicalCode is \"unknown\" when unrecognised")
                    ),
                }
            },
            "/api/lookup/declines": {
                "get": {
                    "operationId": "listDeclineCodes",
                    "summary": "The full decline code dictionary (public, CORS open)",
                    "security": [],
                    "parameters": [
                        {"name": "gateway", "in": "query", "required": False, "schema": _gateway_schema()}
                    ],
                    "responses": _lookup_responses(
                        {
                            "description": "Every raw code of every gateway (or of one gateway)",
                            "content": {
                                "application/json": {
                                    "schema": {"type": "array", "items": _ref("DeclineDictionaryEntry")}
                                }
                            },
                        }
                    ),
                }
            },
            "/api/recovery/tokenize": {
                "post": {
                    "operationId": "tokenizeTestCard",
                    "summary": "A test card in, a payment method token out (Revtain Test Gateway only; "
                    "10 requests a minute per key)",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("TokenizeRequest")}},
                    },
                    "responses": {
                        "200": _json("TokenizeResult", "The token, for execute's paymentMethodToken"),
                        "400": _json("Error", "Not a test card, bad card data, or a live gateway (whose "
                                     "cards are collected by the gateway's own fields)"),
                        "401": _COMMON["401"],
                        "403": _COMMON["403"],
                        "429": _json("RateLimited", "Rate limit exceeded"),
                    },
                }
            },
            "/api/lookup/bin/{prefix}": {
                "get": {
                    "operationId": "lookupBin",
                    "summary": "What a card's BIN says: network, type, issuer, country (public, CORS open)",
                    "security": [],
                    "parameters": [
                        {
                            "name": "prefix",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^[0-9]{4,8}$"},
                        }
                    ],
                    "responses": {
                        "200": _json("BinLookup", 'The BIN; "Unknown" / "unknown" where not identifiable'),
                        "400": _json("Error", "The prefix is not 4 to 8 digits"),
                        "429": _json("RateLimited", "Fair-use rate limit exceeded"),
                    },
                }
            },
            "/api/recovery/update-card/generate": {
                "post": {
                    "operationId": "generateCardUpdateLink",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("CardUpdateLinkRequest")}},
                    },
                    "responses": {"201": _json("CardUpdateLinkResult", "The link"), **_COMMON},
                }
            },
            "/api/predict/risk": {
                "post": {
                    "operationId": "predictRisk",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("RiskRequest")}},
                    },
                    "responses": {"200": _json("RiskResult", "The prediction"), **_COMMON},
                }
            },
            "/api/predict/outcome": {
                "post": {
                    "operationId": "recordPredictionOutcome",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("OutcomeRequest")}},
                    },
                    "responses": {
                        "200": _json("OutcomeResult", "Recorded"),
                        "404": _json("Error", "No prediction for this token"),
                        **_COMMON,
                    },
                }
            },
        },
        "webhooks": {
            "recovery.holdout": {
                "post": {
                    "summary": "Proof Mode: the payment is in the control group; Revtain never charges it",
                    "description": "Signed like every event (X-Revtain-Signature, webhook-id, "
                    "webhook-timestamp, webhook-signature) and delivered on the same durable schedule.",
                    "requestBody": {"content": {"application/json": {"schema": _ref("HoldoutEvent")}}},
                    "responses": {"200": {"description": "Any 2xx within 10 s counts as delivered"}},
                }
            },
            "recovery.pre_retry_check": {
                "post": {
                    "summary": "Pre-retry check (optional): asked before each scheduled retry",
                    "description": "Sent to the client's pre-retry check URL, signed like the webhooks. "
                    "Answer within answerWithinSeconds (3 s unless set); redirects are not followed.",
                    "requestBody": {"content": {"application/json": {"schema": _ref("PreRetryQuestion")}}},
                    "responses": {
                        "200": _json("PreRetryAnswer", "Any 2xx: proceed, or skip with a reason"),
                        "default": {"description": "Anything else, or no answer in time: go ahead"},
                    },
                }
            },
            "merchant.alert": {
                "post": {
                    "operationId": "merchantAlert",
                    "summary": "An alert to the merchant's team, when notificationChannels includes WEBHOOK",
                    "description": "Signed like every Revtain webhook (X-Revtain-Signature, Standard "
                    "Webhooks headers). A dead webhook URL is alerted by email and SMS only.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("MerchantAlertEvent")}},
                    },
                    "responses": {"200": {"description": "Any 2xx within 10 seconds counts as delivered"}},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY",
                           "description": "The secret key, rev_…"},
                "PublishableKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY",
                                   "description": "The publishable key, rev_pk_…: only for "
                                   "GET /api/recovery/paywall-status; 403 elsewhere"},
            },
            "schemas": schema_components(),
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())
