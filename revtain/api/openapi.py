"""``GET /api/openapi.json``: OpenAPI 3.1, generated from the same schemas that validate requests."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import jsonify

from . import bp
from .schemas import schema_components


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


_COMMON = {
    "400": _json("Error", "Validation failed"),
    "401": _json("Error", "Missing or invalid API key"),
    "403": _json("Error", "A publishable key may not call this endpoint"),
}


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
            "description": "Recovery of failed subscription payments. Authenticate with X-API-KEY.",
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
                        "202": _json("Queued", "Queued for a smart-time retry"),
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
                            "schema": {"type": "string", "minLength": 1},
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
                            "schema": {"type": "string", "minLength": 1, "maxLength": 128},
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
                    "responses": {"200": _json("PulseResult", "Logged"), **_COMMON},
                }
            },
        },
        "components": {
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY"}},
            "schemas": schema_components(),
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())
