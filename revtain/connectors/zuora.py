"""Zuora: callout notifications protected by HTTP Basic auth, the way Zuora lets a callout be
authenticated (the username and password set on the callout template; "Enable Preemptive
Authentication" or not: without it Zuora sends them after our 401 and its ``WWW-Authenticate``).

Zuora's callouts carry what the merchant's callout template puts in the body, so the set-up gives the
bodies to paste: the event's name and the ids of the payment, account and payment method, nothing
else (Zuora's callout security model: ids over HTTPS, the rest read back through the API). Revtain
reads everything else from Zuora's REST API when it processes the event.

* ``Payment.Failure`` (Zuora's "Payment Declined"): ``{"event": "Payment.Failure", "paymentId": …,
  "accountId": …}``. The event id is ``Payment.Failure:<payment id>``: each declined payment is its own
  Zuora object, and Zuora's callout retries carry the same payment.
* ``Payment.Success`` ("Payment Processed"), the same shape.
* ``PaymentMethod.Updated`` ("Payment Method Updated", and a custom event on Account when its default
  payment method changes): ``{"event": "PaymentMethod.Updated", "accountId": …, "paymentMethodId": …}``.

Why Basic auth and not the HMAC option of callout templates: Zuora's HMAC signs a "data" template the
merchant writes (merge fields, its own line format) into a header the merchant names, so no fixed
check could verify it; Basic auth is one documented, fixed scheme.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from ..gateways.platforms import Fact, Ignored
from ..gateways.platforms.zuora import ZuoraClient, clean_base_url, clean_https_url
from . import basic_auth
from .base import BadPayload, Field, Headers, Inbound, require

PLATFORM = "zuora"
LABEL = "Zuora"
CREDENTIALS = (
    Field(
        "base_url",
        "REST endpoint",
        help="Your tenant's REST API URL: https://rest.zuora.com (US), https://rest.na.zuora.com "
        "(US Cloud 2), https://rest.eu.zuora.com (EU), or a sandbox such as "
        "https://rest.apisandbox.zuora.com.",
    ),
    Field(
        "client_id",
        "OAuth client ID",
        help="An OAuth client of an API user (Settings → Administration → Manage Users → the user → OAuth "
        "Clients) whose role may read payments, invoices and accounts and create payments.",
    ),
    Field("client_secret", "OAuth client secret", secret=True, help="The same OAuth client's secret."),
    Field("webhook_username", "Callout username", help="The username of the callouts' Basic authentication."),
    Field(
        "webhook_password",
        "Callout password",
        secret=True,
        help=f"The password of the callouts' Basic authentication: a random one, {basic_auth.MIN_PASSWORD} "
        "characters or more.",
    ),
    Field(
        "card_update_url",
        "Card update page",
        required=False,
        help="Optional: the page of your site where customers update their card (Zuora's payment form). "
        "Zuora has no page of its own for customers; without it, the card-update links of your dunning "
        "emails are not available for Zuora recoveries.",
    ),
)
PAYMENT_FAILURE = "Payment.Failure"
PAYMENT_SUCCESS = "Payment.Success"
PAYMENT_METHOD_UPDATED = "PaymentMethod.Updated"
EVENTS = (PAYMENT_FAILURE, PAYMENT_SUCCESS, PAYMENT_METHOD_UPDATED)
# The request bodies of the three callout templates, with Zuora's merge fields.
BODIES = {
    "Payment Declined": '{"event": "Payment.Failure", "paymentId": "{{Payment.Id}}", '
    '"accountId": "{{Payment.AccountId}}"}',
    "Payment Processed": '{"event": "Payment.Success", "paymentId": "{{Payment.Id}}", '
    '"accountId": "{{Payment.AccountId}}"}',
    "Payment Method Updated": '{"event": "PaymentMethod.Updated", "paymentMethodId": "{{PaymentMethod.Id}}", '
    '"accountId": "{{PaymentMethod.AccountId}}"}',
}
SETUP = (
    "In Zuora, Extension Studio → Events & Notifications → Callout Templates: add three templates, "
    "POST to the URL, Content-Type application/json, Authentication Type Basic with the callout "
    "username and password you gave Revtain (Enable Preemptive Authentication if you like; Revtain "
    "answers the challenge either way), Retriable checked, one per event with this request body — "
    + "; ".join(f"{event}: {body}" for event, body in BODIES.items())
    + ". "
    + (
        "Then, on the Notifications tab, add each template to the notification of its event (Payment "
        "Declined with Sequence of failed attempt 1). For cards changed by making another payment method"
        " the default, add a custom event on Account with the condition changeType == 'UPDATE' && "
        'Account.DefaultPaymentMethodId != Account.DefaultPaymentMethodId_old and the body {"event": '
        '"PaymentMethod.Updated", "paymentMethodId": "{{Account.DefaultPaymentMethodId}}", "accountId": '
        '"{{Account.Id}}"}.'
    )
)
HAND_OFF_BY_SETTING = (
    "Zuora retries a declined invoice by itself: every scheduled payment run collects the open "
    "invoices of Auto-Pay accounts again, and Configurable Payment Retry (where enabled) retries "
    "declines on its own schedule. No Zuora API stops that for one invoice. Before turning the "
    "hand-off on: turn Configurable Payment Retry off (Payments Settings → Configure Payment Retry),"
    " and keep your scheduled payment runs from collecting invoices whose payment was declined (for "
    "example with a payment run filter, or Auto-Pay off for accounts in dunning). Until both are "
    "done leave the hand-off off: Revtain then sends its dunning emails and closes each recovery "
    "when Zuora reports the payment."
)
MAX_REF = 64
_REF = re.compile(r"[A-Za-z0-9_-]+")


def check_credentials(credentials: Mapping[str, Any]) -> dict[str, str]:
    """The endpoint must be an https Zuora host (Revtain never sends the OAuth client elsewhere), the
    callout pair must survive Basic auth, the card update page must be https."""
    cleaned = require(credentials, CREDENTIALS, LABEL)
    cleaned["base_url"] = clean_base_url(cleaned["base_url"])
    basic_auth.check_pair(cleaned, LABEL)
    if "card_update_url" in cleaned:
        cleaned["card_update_url"] = clean_https_url(cleaned["card_update_url"])
    return cleaned


def read(credentials: Mapping[str, str], headers: Headers, body: bytes) -> Inbound:
    basic_auth.verify(credentials, headers, LABEL)
    return parse(credentials, body)


def parse(credentials: Mapping[str, str], body: bytes, event_type: str | None = None) -> Inbound:
    try:
        data = json.loads(body)
    except ValueError:  # UnicodeDecodeError included
        raise BadPayload("the body is not a Zuora callout in JSON (see the set-up for the bodies)") from None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str) or not data["event"].strip():
        raise BadPayload("a Revtain callout from Zuora names its event (see the set-up for the bodies)")
    event = data["event"].strip()
    if event in (PAYMENT_FAILURE, PAYMENT_SUCCESS):
        event_id = f"{event}:{_ref(data, 'paymentId')}"
    elif event == PAYMENT_METHOD_UPDATED:
        event_id = f"{event}:{_ref(data, 'accountId')}:{_ref(data, 'paymentMethodId')}"
    else:
        event_id = f"{event[:100]}:{hashlib.sha256(body).hexdigest()}"  # stored, never acted on
    return Inbound(event_id, event, None, data)


def _ref(data: Mapping[str, Any], name: str) -> str:
    """A Zuora id from the body; a merge field Zuora left unrendered (``{{Payment.Id}}``) is not one."""
    value = data.get(name)
    if not isinstance(value, str) or not _REF.fullmatch(value.strip()) or len(value.strip()) > MAX_REF:
        raise BadPayload(f"{name} is not a Zuora id (check the callout template's merge fields)")
    return value.strip()


def handled(event_type: str) -> bool:
    return event_type in EVENTS


def normalise(inbound: Inbound, client: ZuoraClient) -> Fact:
    data = inbound.payload
    if inbound.event_type == PAYMENT_FAILURE:
        return client.failed_payment(_ref(data, "paymentId"))
    if inbound.event_type == PAYMENT_SUCCESS:
        return client.succeeded_payment(_ref(data, "paymentId"))
    if inbound.event_type == PAYMENT_METHOD_UPDATED:
        return client.card_updated(_ref(data, "accountId"))
    return Ignored(f"{inbound.event_type} is not handled")
