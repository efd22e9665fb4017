"""Braintree subscriptions: webhooks are forms of ``bt_signature`` and ``bt_payload`` (a base64 XML
notification), verified and parsed by the ``braintree`` library with the merchant's public and
private keys.

Answers: a body that is not such a form (no ``bt_signature`` and no ``bt_payload``, not
form-encoded ASCII, a field twice) is a 400; a form without a signature, or one the library will
not verify, is a 401. The library checks the payload's characters before the signature, so a
garbled payload is a 401 too: it cannot tell garbling from forgery. A verified payload that is not
a notification is a 400.

Braintree's automatic retries of past-due subscriptions are its retry logic, a Control Panel setting
with no API (``HAND_OFF_BY_SETTING``): the hand-off is off until the merchant turns it on, having
switched that off.

Notifications carry no id and no signing time: a resend carries the same payload, so the event id
is a digest of it, and there is no replay window (a replay is a duplicate, and processing reads the
subscription's state from Braintree anyway). Braintree sends no notification when a card changes
(the customer's new card reaches a recovery through Revtain's card-update page), so only failures
and successes are acted on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from xml.parsers.expat import ExpatError

import braintree
from braintree.exceptions import InvalidSignatureError
from braintree.util.xml_util import XmlUtil

from ..gateways.platforms import Fact, Ignored
from ..gateways.platforms.braintree_billing import BraintreeBillingClient
from .base import BadPayload, Field, Headers, Inbound, Unauthorized, require

PLATFORM = "braintree"
LABEL = "Braintree"
ENVIRONMENTS = ("sandbox", "production")
CREDENTIALS = (
    Field("merchant_id", "Merchant ID", help="Braintree Control Panel: gear icon → API."),
    Field("public_key", "Public key", help="An API key pair's public key (gear icon → API → API Keys)."),
    Field("private_key", "Private key", secret=True,
          help="The same key pair's private key: it verifies Braintree's webhooks and calls the API."),
    Field("environment", "Environment", help="sandbox or production"),
)
FAILED = ("subscription_charged_unsuccessfully", "subscription_went_past_due")
CHARGED = "subscription_charged_successfully"
EVENTS = (*FAILED, CHARGED)
HAND_OFF_BY_SETTING = (
    "Braintree retries past-due subscriptions by itself while its retry logic is on, and Braintree "
    "offers no API to switch that off, so Revtain cannot do it for you. Before turning the hand-off "
    "on: in the Braintree Control Panel, under Settings → Processing → Recurring Billing → Retry "
    "Logic, turn automatic retries off and leave subscriptions Past Due (not canceled) when a charge "
    "fails."
)
SETUP = (
    "In the Braintree Control Panel, gear icon → API → Webhooks → Create New Webhook: paste the URL as "
    "the destination URL and select the Recurring Billing notifications Subscription Charged "
    "Unsuccessfully, Subscription Went Past Due and Subscription Charged Successfully. "
    "The hand-off is off until you turn it on: Braintree keeps retrying while Revtain only watches and "
    "sends its dunning emails. To have Revtain retry failed payments for you through Braintree, turn "
    "Braintree's own retries off first (see below; there is no API for that setting), then the "
    "hand-off on."
)
NOT_A_NOTIFICATION = "not a Braintree webhook (a form with bt_signature and bt_payload)"
MAX_FIELDS = 20


def check_credentials(credentials: Mapping[str, Any]) -> dict[str, str]:
    cleaned = require(credentials, CREDENTIALS, LABEL)
    cleaned["environment"] = cleaned["environment"].lower()
    if cleaned["environment"] not in ENVIRONMENTS:
        raise ValueError("Braintree's environment is sandbox or production")
    return cleaned


def _fields(body: bytes) -> dict[str, list[str]]:
    try:
        fields = parse_qs(body.decode("ascii"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):  # not ASCII, or too many fields
        raise BadPayload(NOT_A_NOTIFICATION) from None
    if "bt_signature" not in fields and "bt_payload" not in fields:
        raise BadPayload(NOT_A_NOTIFICATION)
    if len(fields.get("bt_signature", ())) > 1 or len(fields.get("bt_payload", ())) > 1:
        raise BadPayload("bt_signature and bt_payload are sent once each")
    return fields


def _sdk(credentials: Mapping[str, str]) -> braintree.BraintreeGateway:
    return BraintreeBillingClient.from_credentials(credentials).sdk


def read(credentials: Mapping[str, str], headers: Headers, body: bytes) -> Inbound:
    fields = _fields(body)
    signature, payload = fields.get("bt_signature", [""])[0], fields.get("bt_payload", [""])[0]
    if not signature.strip():
        raise Unauthorized("bt_signature is missing")
    if not payload.strip():
        raise Unauthorized("bt_signature signs no bt_payload")
    gateway = _sdk(credentials)
    try:
        notification = gateway.webhook_notification.parse(signature, payload)
    except InvalidSignatureError as exc:
        raise Unauthorized(f"bt_signature: {exc}") from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, ExpatError):
        raise BadPayload("bt_payload is signed but is not a Braintree notification") from None
    return _inbound(notification, payload)


def parse(credentials: Mapping[str, str], body: bytes, event_type: str | None = None) -> Inbound:
    """A stored webhook, verified when it arrived: decoded the way the library's ``parse`` does
    once the signature matches (so rotated keys do not strand stored events)."""
    payload = _fields(body).get("bt_payload", [""])[0]
    if not payload.strip():
        raise BadPayload("bt_payload is empty")
    gateway = _sdk(credentials)
    try:
        attributes = XmlUtil.dict_from_xml(base64.decodebytes(payload.encode("ascii")))
        notification = braintree.WebhookNotification(gateway, attributes["notification"])
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, ExpatError):
        raise BadPayload("bt_payload is not a Braintree notification") from None
    return _inbound(notification, payload)


def _inbound(notification: Any, payload: str) -> Inbound:
    kind = getattr(notification, "kind", None)
    if not isinstance(kind, str) or not kind.strip():
        raise BadPayload("the notification has no kind")
    timestamp = getattr(notification, "timestamp", None)
    occurred = None
    if isinstance(timestamp, datetime):
        occurred = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
    try:
        digest = hashlib.sha256(base64.decodebytes(payload.encode("ascii"))).hexdigest()
    except (binascii.Error, UnicodeEncodeError):
        raise BadPayload("bt_payload is not base64") from None
    return Inbound(digest, kind, occurred, notification)


def handled(event_type: str) -> bool:
    return event_type in EVENTS


def normalise(inbound: Inbound, client: BraintreeBillingClient) -> Fact:
    subscription_id = getattr(getattr(inbound.payload, "subscription", None), "id", None)
    if inbound.event_type not in EVENTS:
        return Ignored(f"{inbound.event_type} is not handled")
    if not isinstance(subscription_id, str) or not subscription_id:
        return Ignored("the notification names no subscription")
    if inbound.event_type in FAILED:
        return client.failed_subscription(subscription_id)
    return client.paid_subscription(subscription_id)
