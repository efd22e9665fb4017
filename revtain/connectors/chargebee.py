"""Chargebee: webhooks protected by HTTP Basic auth (the username and password the merchant sets on
the webhook in Chargebee and gives Revtain), events read with the ``chargebee`` library.

Chargebee signs nothing else, so the pair is compared in constant time and a webhook without it
is refused. Events are deduplicated on Chargebee's ``ev_…`` id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..gateways.platforms import Fact, Ignored
from . import basic_auth
from .base import BadPayload, Field, Headers, Inbound, require

if TYPE_CHECKING:
    from ..gateways.platforms.chargebee import ChargebeeClient

# The chargebee library takes a second to import: it is imported when first needed, not at start-up.

PLATFORM = "chargebee"
LABEL = "Chargebee"
MIN_PASSWORD = basic_auth.MIN_PASSWORD
CREDENTIALS = (
    Field("site", "Site", help="Your Chargebee site: the acme in acme.chargebee.com."),
    Field(
        "api_key",
        "API key",
        secret=True,
        help="A full-access API key (Settings → Configure Chargebee → API Keys): Revtain reads "
        "invoices, customers and payment sources, collects invoices and stops their dunning.",
    ),
    Field("webhook_username", "Webhook username",
          help="The username you set for basic authentication on the Chargebee webhook."),
    Field(
        "webhook_password",
        "Webhook password",
        secret=True,
        help=f"The password you set on the Chargebee webhook: a random one, {MIN_PASSWORD} characters "
        "or more.",
    ),
)
SETUP = (
    "In Chargebee, Settings → Configure Chargebee → Webhooks → Add Webhook: paste the URL, protect it "
    "with basic authentication using the webhook username and password you gave Revtain, choose "
    "API version V2, and select the events Payment Failed (payment_failed), Payment Succeeded "
    "(payment_succeeded), Payment Source Updated (payment_source_updated) and Payment Source Added "
    "(payment_source_added)."
)
EVENTS = ("payment_failed", "payment_source_updated", "payment_source_added", "payment_succeeded")
CARD_EVENTS = ("payment_source_updated", "payment_source_added")


def check_credentials(credentials: Mapping[str, Any]) -> dict[str, str]:
    from ..gateways.platforms.chargebee import clean_site

    cleaned = require(credentials, CREDENTIALS, LABEL)
    cleaned["site"] = clean_site(cleaned["site"])
    basic_auth.check_pair(cleaned, LABEL)
    return cleaned


def read(credentials: Mapping[str, str], headers: Headers, body: bytes) -> Inbound:
    basic_auth.verify(credentials, headers, LABEL)
    return parse(credentials, body)


def parse(credentials: Mapping[str, str], body: bytes, event_type: str | None = None) -> Inbound:
    from ..gateways.platforms.chargebee import deserialize_event

    try:
        text = body.decode("utf-8")
        data = json.loads(text)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        raise BadPayload("the body is not a Chargebee event in JSON") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("id"), str) or not data["id"]
        or not isinstance(data.get("event_type"), str) or not data["event_type"]
        or not isinstance(data.get("content"), dict)
    ):
        raise BadPayload("not a Chargebee event (no id, event_type or content)")
    try:
        event = deserialize_event(text)
    except Exception:  # the library raises bare Exception for another API version
        raise BadPayload("not a Chargebee API v2 event: choose API version V2 for the webhook") from None
    return Inbound(data["id"], data["event_type"], _occurred_at(data.get("occurred_at")), event)


def _occurred_at(value: Any) -> datetime | None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def handled(event_type: str) -> bool:
    return event_type in EVENTS


def normalise(inbound: Inbound, client: ChargebeeClient) -> Fact:
    content = inbound.payload.content
    if inbound.event_type == "payment_failed":
        return client.failed_payment(content)
    if inbound.event_type in CARD_EVENTS:
        return client.card_updated(content)
    if inbound.event_type == "payment_succeeded":
        return client.succeeded_payment(content)
    return Ignored(f"{inbound.event_type} is not handled")
