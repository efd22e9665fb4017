"""Text messages through Twilio's official library (``twilio``), with the merchant's own account.

Only Twilio's HTTP client is ever replaced (by the tests); the ``twilio`` library builds the request
(``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, HTTP Basic auth) and parses the answer.
"""

from __future__ import annotations

import requests
from flask import current_app
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import http_client
from twilio.rest import Client as TwilioClient

from .settings import MESSAGING_SERVICE_SID, TwilioCredentials

DEFAULT_TIMEOUT = 10.0


class SmsError(Exception):
    """Not sent. ``transient``: worth trying again later (Twilio busy or unreachable)."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def _client(credentials: TwilioCredentials) -> TwilioClient:
    timeout = float(current_app.config.get("TWILIO_TIMEOUT") or DEFAULT_TIMEOUT)
    return TwilioClient(
        credentials.account_sid,
        credentials.auth_token,
        http_client=http_client.TwilioHttpClient(timeout=timeout),
    )


def send_sms(credentials: TwilioCredentials, to: str, body: str) -> str:
    """Hand the message to Twilio; returns its message SID (``SM…``)."""
    sender = (
        {"messaging_service_sid": credentials.sender}
        if MESSAGING_SERVICE_SID.match(credentials.sender)
        else {"from_": credentials.sender}
    )
    try:
        message = _client(credentials).messages.create(to=to, body=body, **sender)
    except TwilioRestException as exc:
        transient = exc.status == 429 or exc.status >= 500
        raise SmsError(f"Twilio {exc.status} (error {exc.code}): {str(exc.msg)[:300]}", transient) from None
    except requests.RequestException as exc:
        raise SmsError(f"Twilio unreachable: {type(exc).__name__}", transient=True) from None
    except TwilioException as exc:
        raise SmsError(f"Twilio: {str(exc)[:300]}", transient=False) from None
    return message.sid
