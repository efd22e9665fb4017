"""CORS for what browsers call from any site: the public developer tools and the paywall status.

A module registers its endpoints (and the paths under which even a 404 or 405 should stay readable
by a browser) with ``open_to_browsers``; every response to them allows any origin, and a preflight
is answered for the methods and request headers the rule names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import Response, request

from . import bp

MAX_AGE = "86400"


@dataclass(frozen=True)
class OpenRule:
    endpoints: frozenset[str]
    paths: tuple[str, ...]  # exact paths, or prefixes when they end with "/"
    methods: str
    allow_headers: str | None  # None: whatever the preflight asks for
    expose_headers: str

    def matches(self) -> bool:
        if request.endpoint in self.endpoints:
            return True
        # 404 / 405 under these paths have no endpoint; a browser should still read their JSON body.
        return any(request.path.startswith(p) if p.endswith("/") else request.path == p for p in self.paths)


_RULES: list[OpenRule] = []


def open_to_browsers(
    endpoints: Iterable[str],
    paths: Iterable[str] = (),
    *,
    methods: str = "GET, HEAD, OPTIONS",
    allow_headers: str | None = None,
    expose_headers: str = "Retry-After",
) -> None:
    _RULES.append(OpenRule(frozenset(endpoints), tuple(paths), methods, allow_headers, expose_headers))


@bp.after_app_request
def _cors(response: Response) -> Response:
    rule = next((r for r in _RULES if r.matches()), None)
    if rule is None:
        return response
    response.headers["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = rule.methods
        response.headers["Access-Control-Allow-Headers"] = (
            rule.allow_headers or request.headers.get("Access-Control-Request-Headers") or "Content-Type"
        )
        response.headers["Access-Control-Max-Age"] = MAX_AGE
    else:
        response.headers["Access-Control-Expose-Headers"] = rule.expose_headers
    return response
