"""Shopify ReCharge: webhooks verified with ``X-Recharge-Hmac-Sha256`` exactly as ReCharge documents it:
the lowercase hex SHA-256 of the API client secret followed by the raw body (a plain hash of
``secret + body``, not an HMAC, whatever the header's name says), compared in constant time.

ReCharge posts the resource itself (``{"charge": {…}}``, as its REST API returns it) and names the
topic in ``X-Recharge-Topic``, outside what is hashed. So the topic is only trusted as far as the body
agrees with it: a ``charge/failed`` is acted on only for a charge whose status is error, a
``charge/paid`` only for one that succeeded. The body has no event id and the hash has no time: the
event id is a digest of the topic and the body (a resend is the same bytes; a later failure of the
same charge differs in its ``updated_at``), and a replay is a duplicate.

Topics: ``charge/failed``, ``charge/max_retries_reached`` and
``subscription/payment_failure_count_exceeded`` (failures), ``charge/paid`` (success) and
``customer/payment_method_updated`` (a new card), so the out-of-order rules work.

ReCharge's own retries of a failed charge follow the store's retry settings (Settings → Payment →
Failed charges, or Retain → Failed Payment Recovery), with no per-charge API to stop them
(``HAND_OFF_BY_SETTING``): the hand-off is off until the merchant turns it on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from ..gateways.platforms import Fact, Ignored
from ..gateways.platforms.recharge import RechargeClient
from .base import BadPayload, Field, Headers, Inbound, Unauthorized, iso_time, require

PLATFORM = "shopify-recharge"
LABEL = "Shopify ReCharge"
SIGNATURE_HEADER = "X-Recharge-Hmac-Sha256"
TOPIC_HEADER = "X-Recharge-Topic"
CREDENTIALS = (
    Field(
        "api_token",
        "API token",
        secret=True,
        help="An Admin API token (Apps → Recharge → Tools & apps → API tokens) with read access to charges, "
        "customers, addresses and payment methods, and Process charges (write_payments) for the hand-off.",
    ),
    Field(
        "client_secret",
        "API client secret",
        secret=True,
        help="The same token's API client secret: ReCharge signs every webhook with it.",
    ),
)
CHARGE_FAILED = "charge/failed"
MAX_RETRIES = "charge/max_retries_reached"
FAILURE_COUNT_EXCEEDED = "subscription/payment_failure_count_exceeded"
CHARGE_PAID = "charge/paid"
PAYMENT_METHOD_UPDATED = "customer/payment_method_updated"
EVENTS = (CHARGE_FAILED, MAX_RETRIES, FAILURE_COUNT_EXCEEDED, CHARGE_PAID, PAYMENT_METHOD_UPDATED)
SETUP = (
    "In ReCharge, create a webhook for each topic with the URL as its address (POST /webhooks with your API "
    "token, one topic each): charge/failed, charge/max_retries_reached, "
    "subscription/payment_failure_count_exceeded, charge/paid and customer/payment_method_updated. ReCharge "
    "signs them with the API client secret of the token that created them: give Revtain that secret."
)
HAND_OFF_BY_SETTING = (
    "ReCharge retries a failed charge by itself on your store's schedule (Settings → Payment → "
    "Failed charges, or Retain → Failed Payment Recovery on newer stores), and when the customer "
    "updates their card. No ReCharge API stops that for one charge. Before turning the hand-off on: "
    "set the number of retries to the lowest ReCharge allows and, under When maximum number of "
    "retries are reached, choose Do nothing, so the charge stays open for Revtain to process. "
    "Processing a charge through the API is a ReCharge Pro feature and needs the token's Process "
    "charges permission. Until then leave the hand-off off: Revtain sends its dunning emails and "
    "closes each recovery when ReCharge reports the charge paid."
)
_HEX = re.compile(r"[0-9a-fA-F]{64}")
_TOPIC = re.compile(r"[a-z_]+/[a-z_]+")


def check_credentials(credentials: Mapping[str, Any]) -> dict[str, str]:
    """The token itself is checked by ``RechargeClient``; the secret is a token's client secret."""
    cleaned = require(credentials, CREDENTIALS, LABEL)
    secret = cleaned["client_secret"]
    if len(secret) < 16 or len(secret) > 255 or any(c.isspace() for c in secret):
        raise ValueError(
            "ReCharge's API client secret has 16 or more characters and no spaces "
            "(copy it from the API token)"
        )
    return cleaned


def signature(secret: str, body: bytes) -> str:
    """ReCharge's documented signature: hex SHA-256 of the client secret, then the raw body."""
    return hashlib.sha256(secret.encode("utf-8") + body).hexdigest()


def read(credentials: Mapping[str, str], headers: Headers, body: bytes) -> Inbound:
    secret = str(credentials.get("client_secret") or "")
    given = (headers.get(SIGNATURE_HEADER) or "").strip()
    if not secret:
        raise Unauthorized(f"{SIGNATURE_HEADER}: no API client secret is set up")
    if not given:
        raise Unauthorized(f"{SIGNATURE_HEADER}: missing")
    if not _HEX.fullmatch(given) or not hmac.compare_digest(signature(secret, body), given.lower()):
        raise Unauthorized(f"{SIGNATURE_HEADER}: does not match the body")
    topic = (headers.get(TOPIC_HEADER) or "").strip()
    if not topic:
        raise BadPayload(f"{TOPIC_HEADER} is missing: ReCharge names every webhook's topic")
    return parse(credentials, body, topic)


def parse(credentials: Mapping[str, str], body: bytes, event_type: str | None = None) -> Inbound:
    topic = (event_type or "").strip()
    if not _TOPIC.fullmatch(topic) or len(topic) > 100:
        raise BadPayload(f"{TOPIC_HEADER} is not a ReCharge topic")
    try:
        data = json.loads(body)
    except ValueError:  # UnicodeDecodeError included
        raise BadPayload("the body is not a ReCharge webhook in JSON") from None
    resource = topic.partition("/")[0]
    obj = data.get(resource) if isinstance(data, dict) else None  # {"charge": {…}} for charge/…
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), int | str):
        raise BadPayload(f"a ReCharge {topic} webhook carries the {resource} it is about")
    event_id = hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()
    return Inbound(event_id, topic, iso_time(obj.get("updated_at")), obj)


def handled(event_type: str) -> bool:
    return event_type in EVENTS


def normalise(inbound: Inbound, client: RechargeClient) -> Fact:
    obj = inbound.payload
    if inbound.event_type in (CHARGE_FAILED, MAX_RETRIES):
        return client.failed_charge(obj)
    if inbound.event_type == FAILURE_COUNT_EXCEEDED:
        return client.failed_subscription(obj)
    if inbound.event_type == CHARGE_PAID:
        return client.paid_charge(obj)
    if inbound.event_type == PAYMENT_METHOD_UPDATED:
        return client.payment_method_updated(obj)
    return Ignored(f"{inbound.event_type} is not handled")
