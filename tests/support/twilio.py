"""Twilio's HTTP layer, stubbed: everything above it is the real ``twilio`` library.

``TwilioHttpClient`` (the library's own client over ``requests``) is built as usual, then given a
``requests.Session`` whose ``send`` answers from a queue instead of the network. The library prepares
the real request (``POST https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json``, HTTP
Basic auth, a form body) and parses the answer into its ``MessageInstance`` or raises its
``TwilioRestException``, exactly as in production. Answers are shaped like Twilio's own
(https://www.twilio.com/docs/messaging/api/message-resource, https://www.twilio.com/docs/errors).
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.structures import CaseInsensitiveDict

ACCOUNT_SID = "AC" + "3f9b2c" * 5 + "a1"
AUTH_TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
FROM_NUMBER = "+14155550100"
MESSAGING_SERVICE_SID = "MG" + "0123456789abcdef" * 2


@dataclass
class TwilioRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: str

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body, keep_blank_values=True).items()}

    @property
    def basic_auth(self) -> tuple[str, str]:
        scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
        assert scheme == "Basic", self.headers
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        return user, password


def message_created(request: TwilioRequest) -> dict[str, Any]:
    """The Message resource Twilio answers a create with (201), for what was asked."""
    form = request.form
    sid = "SM" + secrets.token_hex(16)
    account = request.path.split("/")[3]
    now = format_datetime(datetime.now(UTC), usegmt=True).replace("GMT", "+0000")
    return {
        "account_sid": account,
        "api_version": "2010-04-01",
        "body": form["Body"],
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "accepted" if form.get("MessagingServiceSid") else "queued",
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"},
        "to": form["To"],
        "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
    }


def error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class TwilioSession(requests.Session):
    """Answers queued with ``created``, ``reply`` or ``fail``, in order; records every request."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[Any] = []
        self.by_number: dict[str, list[Any]] = {}  # answers for messages to one number, before the rest
        self.requests: list[TwilioRequest] = []
        self.unexpected: list[str] = []

    def created(self, times: int = 1) -> TwilioSession:
        self.answers.extend(["created"] * times)
        return self

    def reply(self, status: int, body: dict[str, Any]) -> TwilioSession:
        self.answers.append((status, body))
        return self

    def reply_to(self, number: str, status: int, body: dict[str, Any]) -> TwilioSession:
        self.by_number.setdefault(number, []).append((status, body))
        return self

    def fail(self, exc: BaseException) -> TwilioSession:
        self.answers.append(exc)
        return self

    def send(self, prepared: requests.PreparedRequest, **kwargs) -> requests.Response:  # type: ignore[override]
        body = prepared.body.decode() if isinstance(prepared.body, bytes) else (prepared.body or "")
        request = TwilioRequest(prepared.method or "", prepared.url or "", dict(prepared.headers), body)
        self.requests.append(request)
        for_number = self.by_number.get(request.form.get("To", ""))
        if not self.answers and not for_number:
            self.unexpected.append(f"{request.method} {request.url}")
            raise AssertionError(f"unexpected Twilio request: {request.method} {request.url}")
        answer = for_number.pop(0) if for_number else self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        status, payload = (201, message_created(request)) if answer == "created" else answer
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(payload).encode()
        response.headers = CaseInsensitiveDict(
            {
                "Content-Type": "application/json; charset=utf-8",
                "Twilio-Request-Id": "RQ" + secrets.token_hex(16),
            }
        )
        response.encoding = "utf-8"
        response.url = prepared.url or ""
        response.request = prepared
        return response

    def assert_done(self) -> None:
        left = self.answers + [a for answers in self.by_number.values() for a in answers]
        assert not left, f"answers never asked for: {left}"
        assert not self.unexpected, self.unexpected


@pytest.fixture
def twilio_http(monkeypatch) -> Iterator[TwilioSession]:
    """Every ``TwilioHttpClient`` the library builds talks to this session instead of the network."""
    from twilio.http import http_client

    session = TwilioSession()
    real = http_client.TwilioHttpClient

    def build(*args, **kwargs):
        client = real(*args, **kwargs)
        client.session = session
        return client

    monkeypatch.setattr(http_client, "TwilioHttpClient", build)
    yield session
    session.assert_done()
