"""JSON errors for the API (Decision 5). Bad input is a 4xx with a useful message, never a 500."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import Flask, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

VALIDATION_FAILED = "Validation failed."
M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("error"))
        self.status = status
        self.body = body


def validation_error(fields: dict[str, str]) -> ApiError:
    field, problem = next(iter(fields.items()))
    return ApiError(
        400, {"error": VALIDATION_FAILED, "message": f"{field}: {problem}", "fields": fields}
    )


def not_found(thing: str) -> ApiError:
    return ApiError(404, {"error": f"{thing} not found."})


def _problem(error: dict[str, Any]) -> str:
    if error["type"] == "missing":
        return "is required"
    message = error["msg"]
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def fields_from(exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "body"
        fields.setdefault(name, _problem(error))
    return fields


def parse_json_body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw) if raw.strip() else None
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise validation_error({"body": "is not valid JSON"}) from None
    if not isinstance(data, dict):
        raise validation_error({"body": "must be a JSON object"})
    return data


def validate(model: type[M], data: dict[str, Any], **context: Any) -> M:
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise validation_error(fields_from(exc)) from None


def _is_api_request() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(exc.body), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if not _is_api_request() or exc.response is not None:
            return exc  # e.g. the rate limiter's own, already documented, 429 body
        messages = {404: "Not found.", 405: "Method not allowed."}
        body = {"error": messages.get(exc.code or 500, exc.name), "message": exc.description}
        response = jsonify(body)
        response.status_code = exc.code or 500
        for name, value in exc.get_headers():  # e.g. a 405's Allow
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return exc
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if _is_api_request():
            return jsonify({"error": "Internal server error."}), 500
        return "Internal server error", 500
