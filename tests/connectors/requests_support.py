"""The HTTP layer of ``requests``, stubbed for the platforms reached through it (Zuora's REST API and
the ``recharge-api`` library, whose transport is a ``requests.Session``).

``RequestsHttp.install`` replaces ``requests.adapters.HTTPAdapter.send``, the one method that puts a
prepared request on the wire: everything above it (sessions, JSON encoding, headers, the libraries'
parsing and error classes) is the real code. Requests to this machine's loopback addresses (the test
server, the merchant's webhook receiver) go through untouched; any other request is answered from a
queue in order, recorded, and fails the test when nothing was queued for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from tests.gateways.stubs import AnswerQueue, Recorded

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Sent(Recorded):
    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class RequestsHttp(AnswerQueue):
    label: str = "HTTP"

    def install(self, monkeypatch) -> RequestsHttp:
        original = requests.adapters.HTTPAdapter.send
        stub = self

        def send(adapter, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
            if urlsplit(request.url).hostname in LOOPBACK:
                return original(
                    adapter,
                    request,
                    stream=stream,
                    timeout=timeout,
                    verify=verify,
                    cert=cert,
                    proxies=proxies,
                )
            return stub._answer(request, timeout)

        monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
        return self

    def reply(
        self, status: int, body: dict | list | bytes | None = None, headers: dict[str, str] | None = None
    ) -> RequestsHttp:
        self.queue.append((status, body, headers or {}))
        return self

    def calls(self) -> list[tuple[str, str]]:
        """(method, path) of every request answered so far."""
        return [(sent.method, sent.path) for sent in self.requests]

    def _answer(self, request: requests.PreparedRequest, timeout: Any) -> requests.Response:
        body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
        sent = Sent(request.method, request.url, dict(request.headers), body, timeout)
        status, payload, extra = self.take(sent, f"{self.label} {request.method} {request.url}")
        response = requests.Response()
        response.status_code = status
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        response._content = (
            payload
            if isinstance(payload, bytes)
            else (b"" if payload is None else json.dumps(payload).encode())
        )
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json; charset=utf-8", **extra})
        return response
