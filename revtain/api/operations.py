"""What the OpenAPI document says about each API view, declared on the view itself.

Every ``/api/...`` view carries a ``@documented(...)`` right under its route decorator: summary,
description, the pydantic models of its body, query and path, its answers and examples.
``revtain/api/openapi.py`` walks the app's registered routes and builds the document from these and
from the models' own JSON Schemas, so a route or a field cannot be left out of it; security comes from
``require_api_key`` (``api_key_kinds``) on the same view.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .schemas import RateLimited

OPENAPI_ATTR = "openapi_operations"
ANY_METHOD = "*"


@dataclass(frozen=True)
class Reply:
    """One documented answer. ``body``: a model, ``list[Model]``, ``A | B``, a raw JSON Schema dict, or
    None (no body); ``example`` is checked against it by the tests."""

    description: str
    body: Any = None
    media_type: str = "application/json"
    example: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    operation_id: str
    summary: str
    description: str = ""
    tags: tuple[str, ...] = ()
    body: Any = None
    body_media_types: tuple[str, ...] = ("application/json",)
    query: type[BaseModel] | None = None
    path: type[BaseModel] | None = None
    responses: Mapping[int | str, Reply] = field(default_factory=dict)
    examples: Mapping[str, Any] = field(default_factory=dict)
    # None: from ``require_api_key`` on the view (none there: public)
    security: tuple[str, ...] | None = None


def documented(
    operation_id: str,
    summary: str,
    *,
    method: str = ANY_METHOD,
    description: str = "",
    tags: tuple[str, ...] = (),
    body: Any = None,
    body_media_types: tuple[str, ...] = ("application/json",),
    query: type[BaseModel] | None = None,
    path: type[BaseModel] | None = None,
    responses: Mapping[int | str, Reply] | None = None,
    examples: Mapping[str, Any] | None = None,
    security: tuple[str, ...] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Attach an operation to a view; place it right under the route decorator. ``method`` is only
    needed when one view answers several methods with different operations (then stack them).
    ``examples``: request body examples by name, each a body or ``{"summary": ..., "value": ...}``."""
    operation = Operation(
        operation_id=operation_id, summary=summary, description=description, tags=tags, body=body,
        body_media_types=body_media_types, query=query, path=path, responses=dict(responses or {}),
        examples=dict(examples or {}), security=security,
    )

    def attach(view: Callable[..., Any]) -> Callable[..., Any]:
        operations = dict(getattr(view, OPENAPI_ATTR, {}))
        operations[method.upper()] = operation
        setattr(view, OPENAPI_ATTR, operations)
        return view

    return attach


def rate_limited(description: str, error: str) -> Reply:
    """A 429 with the contract's body (``error`` is its exact text) and ``Retry-After``."""
    return Reply(description, body=RateLimited, example={"error": error, "retryAfter": "60 seconds"},
                 headers={"Retry-After": "Seconds until the rate limit's window resets"})


def operations_of(view: Callable[..., Any]) -> dict[str, Operation]:
    return getattr(view, OPENAPI_ATTR, {})
