"""Recurly as Recurly sends it: JSON notifications signed by an independent implementation of the
documented ``recurly-signature`` format, and the v3 API's answers as JSON fixtures (shaped as the
API reference shows them; the SDK's strict mode checks every field against its schema).

Only the transport is replaced: ``RecurlyAPI`` stands in for the ``http.client.HTTPSConnection``
that ``recurly.base_client`` opens, answers from a queue in order, records every request, and
fails the test on a request nothing was queued for. Everything above it is the real SDK.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from http.client import HTTPMessage
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import recurly
import recurly.base_client

from tests.gateways.stubs import AnswerQueue

FIXTURES = Path(__file__).parent / "fixtures" / "recurly"
API_KEY = "3f2e8c1d9b7a46e5a0c4d2b1e8f7a6c5"
WEBHOOK_SECRET = "8d3c2a1f0e9b4c7d6a5f4e3d2c1b0a99"
SUBDOMAIN = "acme-cloud"
SITE_ID = "o1k0w8h3zx2q"
ACCOUNT = "o1pfx7q9b1bx"
ACCOUNT_CODE = "acme-cust-1042"
INVOICE = "o1pgbs9qezub"
BILLING_INFO = "o1pfx9ha1ea5"
NEW_BILLING_INFO = "o1pj2m4c8s0t"
FAILED_UUID = "6b3b1a1e9c2f4d8a0e7f5c4b3a291807"
PAID_UUID = "71c9e2f04a5b4c3d9e8f7a6b5c4d3e2f"
PAID_TRANSACTION = "ohq1c3k5n7pm"
FAILED_AT = "2026-03-16T12:00:02Z"
API_VERSION = "v2021-02-25"


def fixture(name: str, **overrides: Any) -> dict:
    body = json.loads((FIXTURES / f"{name}.json").read_text())
    body.update(copy.deepcopy(overrides))
    return body


# -- notifications ---------------------------------------------------------------------------------


def notification(object_type: str, event_type: str, *, event_id: str, event_time: str = FAILED_AT,
                 **ref: str) -> bytes:
    """A JSON notification as Recurly posts it: only the event and the object's identifier."""
    return json.dumps({"id": event_id, "object_type": object_type, "site_id": SITE_ID,
                       "event_type": event_type, "event_time": event_time, **ref}).encode()


def payment_failed(event_id: str = "rafhdbbf41mc", uuid: str = FAILED_UUID) -> bytes:
    return notification("payment", "failed", event_id=event_id, uuid=uuid)


def payment_succeeded(event_id: str = "rafk2m9xq0vn", event_time: str = "2026-03-19T08:30:02Z") -> bytes:
    return notification("payment", "succeeded", event_id=event_id, event_time=event_time, uuid=PAID_UUID)


def billing_info_updated(event_id: str = "rafhde0q5fn6", event_time: str = "2026-03-16T12:10:00Z") -> bytes:
    return notification("billing_info", "updated", event_id=event_id, event_time=event_time,
                        account_code=ACCOUNT_CODE)


def signature(body: bytes, secret: str, timestamp_ms: int) -> str:
    """The documented algorithm: lowercase hex HMAC-SHA256 of "<timestamp>.<body>"."""
    return hmac.new(secret.encode(), str(timestamp_ms).encode() + b"." + body, hashlib.sha256).hexdigest()


def signed(body: bytes, secret: str = WEBHOOK_SECRET, *, timestamp_ms: int | None = None,
           also: tuple[str, ...] = ()) -> dict[str, str]:
    """Headers of a signed notification; ``also`` puts other keys' signatures first (a key being
    regenerated signs with both for 24 hours)."""
    ts = round(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    sigs = [signature(body, key, ts) for key in (*also, secret)]
    return {"Content-Type": "application/json", "User-Agent": "Recurly Webhooks",
            "recurly-signature": ",".join([str(ts), *sigs])}


# -- API answers -----------------------------------------------------------------------------------


def account(billing_info: str = BILLING_INFO, **card: Any) -> dict:
    body = fixture("account")
    body["billing_info"]["id"] = billing_info
    body["billing_info"]["payment_method"].update(card)
    return body


def invoice(state: str = "past_due") -> dict:
    """The invoice with its transactions: the declined renewal, and the payment once paid."""
    transactions = [fixture("transaction_declined")]
    if state == "paid":
        transactions.append(fixture("transaction_succeeded"))
        return fixture("invoice_past_due", state="paid", paid=49.0, balance=0.0, transactions=transactions,
                       closed_at="2026-03-19T08:30:01Z", updated_at="2026-03-19T08:30:01Z")
    return fixture("invoice_past_due", state=state, transactions=transactions)


# -- the transport ---------------------------------------------------------------------------------


@dataclass
class Sent:
    host: str
    port: int
    timeout: float | None
    method: str
    path: str
    body: str | None
    headers: dict[str, str]

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class RecurlyAPI(AnswerQueue):
    """Stands in for ``http.client.HTTPSConnection`` inside ``recurly.base_client``."""

    def install(self, monkeypatch) -> RecurlyAPI:
        monkeypatch.setattr(recurly.base_client, "http",
                            SimpleNamespace(client=SimpleNamespace(HTTPSConnection=self._connect)))
        monkeypatch.setattr(recurly, "STRICT_MODE", True)  # every fixture field is in the SDK's schema
        return self

    def reply(self, status: int, body: dict | bytes | None = None, headers: dict[str, str] | None = None
              ) -> RecurlyAPI:
        self.queue.append((status, body, headers or {}))
        return self

    def _connect(self, host: str, port: int, timeout: float | None = None) -> _Connection:
        return _Connection(self, host, port, timeout)


class _Connection:
    def __init__(self, api: RecurlyAPI, host: str, port: int, timeout: float | None) -> None:
        self.api, self.host, self.port, self.timeout = api, host, port, timeout
        self._answer: Any = None

    def request(self, method: str, url: str, body: str | None = None, headers: dict | None = None) -> None:
        sent = Sent(self.host, self.port, self.timeout, method, url, body, dict(headers or {}))
        # a queued failure is raised by getresponse(), where http.client meets it
        self._answer = self.api.take(sent, f"Recurly {method} {url}", raise_queued=False)

    def getresponse(self) -> _Response:
        answer, self._answer = self._answer, None
        if isinstance(answer, BaseException):
            raise answer
        status, body, extra = answer
        return _Response(status, body, {
            "Content-Type": "application/json; charset=utf-8",
            "Recurly-Version": f"recurly.{API_VERSION}",
            "X-Request-Id": f"9a1c7e5b3d2f{len(self.api.requests):04d}-SJC",
            "X-RateLimit-Limit": "2000",
            "X-RateLimit-Remaining": "1999",
            **extra,
        })

    def close(self) -> None:
        pass


class _Response:
    def __init__(self, status: int, body: dict | bytes | None, headers: dict[str, str]) -> None:
        self.status = status
        self.headers = HTTPMessage()
        for name, value in headers.items():
            self.headers[name] = value
        self._body = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()

    def read(self) -> bytes:
        return self._body
