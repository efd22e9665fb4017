"""Chargebee as Chargebee sends it: v2 events posted with the webhook's basic-auth pair, the API's
answers as JSON fixtures, and an HTTP stub for the ``chargebee`` library.

The library opens ``httpx.Client(verify=…)`` for every request; ``ChargebeeHttp.install`` gives it
one whose transport is an ``httpx.MockTransport`` answering from a queue. Everything above the
transport (the library's form encoding, headers, JSON parsing and error classes) is the real one.
"""

from __future__ import annotations

import base64
import copy
import json
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from chargebee import http_request

from tests.gateways.stubs import AnswerQueue, Recorded

FIXTURES = Path(__file__).parent / "fixtures" / "chargebee"
SITE = "acme-test"
API_KEY = "test_cdKOxJ5cuKJKaW3jkQ5WucdfQ7ZzcuMHVb"
WEBHOOK_USER = "revtain"
WEBHOOK_PASSWORD = "f1xture-Wh00k-Pa55word"
CREDENTIALS = {"site": SITE, "api_key": API_KEY, "webhook_username": WEBHOOK_USER,
               "webhook_password": WEBHOOK_PASSWORD}
API = f"https://{SITE}.chargebee.com/api/v2"
INVOICE = "1042"
CUSTOMER = "AzyfjvVPNRmwg1Kb"
OLD_SOURCE = "pm_AzyfjvVPNRntI1Kh"
NEW_SOURCE = "pm_AzyfjvVPNT8kQ3cD"
FAILED_TXN = "txn_AzyfjvVPNRr2L1Kq"
PAYING_TXN = "txn_AzyfjvVPNSq1R2aB"
FAILED_AT = 1773662402  # 2026-03-16T12:00:02Z


def fixture(name: str, **overrides: Any) -> dict:
    body = json.loads((FIXTURES / f"{name}.json").read_text())
    body.update(copy.deepcopy(overrides))
    return body


def event(event_type: str, content: dict, *, event_id: str, occurred_at: int = FAILED_AT,
          source: str = "scheduled_job") -> bytes:
    """An event as Chargebee posts it to a webhook (API version v2)."""
    return json.dumps({
        "id": event_id,
        "occurred_at": occurred_at,
        "source": source,
        "object": "event",
        "api_version": "v2",
        "content": content,
        "event_type": event_type,
        "webhook_status": "scheduled",
    }, indent=2).encode()


def basic_auth(user: str = WEBHOOK_USER, password: str = WEBHOOK_PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Content-Type": "application/json", "Authorization": f"Basic {token}",
            "User-Agent": "ChargeBee"}


def payment_failed(event_id: str = "ev_AzyfjvVPNRs9x1Ks", *, decline_code: str = "insufficient_funds",
                   with_customer: bool = True) -> bytes:
    txn = failed_transaction(decline_code)
    content = {"transaction": txn, "invoice": fixture("invoice"), "subscription": fixture("subscription")}
    if with_customer:
        content["customer"] = fixture("customer")
    return event("payment_failed", content, event_id=event_id)


def failed_transaction(decline_code: str = "insufficient_funds") -> dict:
    txn = fixture("transaction_failed")
    txn["error_detail"]["decline_code"] = decline_code
    return txn


def payment_succeeded(event_id: str = "ev_AzyfjvVPNSqB92aF", *, occurred_at: int = FAILED_AT + 3600) -> bytes:
    content = {"transaction": fixture("transaction_success"), "invoice": paid_invoice(),
               "customer": fixture("customer"), "subscription": fixture("subscription")}
    return event("payment_succeeded", content, event_id=event_id, occurred_at=occurred_at,
                 source="admin_console")


def payment_source_updated(event_id: str = "ev_AzyfjvVPNT8lA3cH", *, occurred_at: int = FAILED_AT + 600,
                           with_source: bool = True, event_type: str = "payment_source_updated") -> bytes:
    customer = fixture("customer", primary_payment_source_id=NEW_SOURCE)
    content = {"customer": customer}
    if with_source:
        content["payment_source"] = fixture("payment_source_new")
    return event(event_type, content, event_id=event_id, occurred_at=occurred_at, source="hosted_page")


def paid_invoice() -> dict:
    return fixture(
        "invoice", status="paid", amount_paid=4900, amount_due=0, amount_to_collect=0, paid_at=1774094400,
        dunning_status="stopped", next_retry_at=None,
        linked_payments=[
            {"txn_id": PAYING_TXN, "applied_amount": 4900, "applied_at": 1774094400, "txn_status": "success",
             "txn_date": 1774094400, "txn_amount": 4900},
            {"txn_id": FAILED_TXN, "applied_amount": 4900, "applied_at": 1773662401, "txn_status": "failure",
             "txn_date": 1773662401, "txn_amount": 4900},
        ],
    )


# -- the API's answers ----------------------------------------------------------------------------


def dunning_stopped() -> dict:
    """``POST /invoices/{id}/stop_dunning``: the invoice, now not_paid."""
    return {"invoice": fixture("invoice", status="not_paid", dunning_status="stopped", next_retry_at=None)}


def collected() -> dict:
    """``POST /invoices/{id}/collect_payment`` when the payment went through."""
    return {"invoice": paid_invoice(), "transaction": fixture("transaction_success")}


def payments_for_invoice(*transactions: dict) -> dict:
    return {"list": [{"transaction": txn} for txn in transactions]}


def invalid_state() -> dict:
    return {"message": "Dunning cannot be stopped for this invoice as it is not in payment_due state",
            "type": "invalid_request", "api_error_code": "invalid_state_for_request"}


# -- the HTTP stub --------------------------------------------------------------------------------


@dataclass
class Call(Recorded):
    """A request as httpx sent it (lower-case header names); paths without ``/api/v2``."""

    verify: Any = None

    @property
    def path(self) -> str:
        return super().path.removeprefix("/api/v2")

    @property
    def basic_user(self) -> str:
        """The user of the request's basic auth (Chargebee's: the API key, no password)."""
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        assert scheme == "Basic", self.headers
        user, _, password = base64.b64decode(value).decode().partition(":")
        assert password == ""
        return user


@dataclass
class ChargebeeHttp(AnswerQueue):
    """Answers the library's requests in order; records every request; an unexpected request
    fails the test (``assert_done``), even where the code under test absorbs the error."""

    def install(self, monkeypatch) -> ChargebeeHttp:
        stub = types.ModuleType("httpx")
        stub.__dict__.update(vars(httpx))
        stub.Client = self._client
        monkeypatch.setattr(http_request, "httpx", stub)
        return self

    def reply(self, status: int, body: dict) -> ChargebeeHttp:
        self.queue.append((status, body))
        return self

    def _client(self, verify: Any = True, **kwargs: Any) -> httpx.Client:
        def handle(request: httpx.Request) -> httpx.Response:
            call = Call(request.method, str(request.url), dict(request.headers), request.content.decode(),
                        verify=verify)
            status, body = self.take(call, f"Chargebee {call.method} {call.url}")
            return httpx.Response(status, json=body,
                                  headers={"Content-Type": "application/json;charset=utf-8"})

        return httpx.Client(transport=httpx.MockTransport(handle), **kwargs)
