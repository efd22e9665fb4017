"""Recurly: JSON webhooks signed with ``recurly-signature``, verified the way Recurly documents it
(its Python library has no helper): ``<unix time in ms>,<sig>[,<sig>…]``, each sig the lowercase
hex HMAC-SHA256 of ``"<timestamp>.<raw body>"`` keyed with the endpoint's secret key. Any listed
signature may match (a regenerated key and the previous one both sign for 24 hours); a timestamp
more than five minutes from now, either way, is refused as a replay.

The notifications are thin (``id``, ``object_type``, ``event_type``, ``event_time`` and a ``uuid``
or ``account_code``): the rest is read through the ``recurly`` library.

Recurly's retries of a declined renewal are its own (its retry logic, Intelligent Retries on some
plans) for as long as the invoice's dunning cycle lasts, and no API call stops them for one
invoice: they are a matter of the merchant's Recurly site (``HAND_OFF_BY_SETTING``). So the hand-off
is off until the merchant turns it on. Off, Revtain follows Recurly's retries, sends the dunning and
closes the recovery when Recurly reports the payment; on, Revtain collects the invoice itself with
``collect_invoice`` and asks Recurly for nothing beforehand.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from ..gateways.platforms import Fact, Ignored
from ..gateways.platforms.recurly import REGIONS, RecurlyClient
from .base import BadPayload, Field, Headers, Inbound, Unauthorized, iso_time, require

PLATFORM = "recurly"
LABEL = "Recurly"
CREDENTIALS = (
    Field(
        "api_key",
        "Private API key",
        secret=True,
        help="Integrations → API Credentials: a private API key (it reads transactions, invoices and "
             "accounts).",
    ),
    Field(
        "webhook_secret",
        "Webhook secret key",
        secret=True,
        help="The secret key of the JSON endpoint you add under Integrations → Webhooks: Recurly signs "
             "every notification with it.",
    ),
    Field("subdomain", "Subdomain", help="The xxx in xxx.recurly.com, for your reference."),
    Field("region", "Data center", required=False,
          help="us (the default) or eu: where your Recurly site is hosted."),
)
# What Recurly's documentation says about its retries: they run until the invoice's dunning cycle
# ends (a dunning campaign sets the emails, the cycle's length and its end, not the retries); the
# retry limits are changed by the site's Recurly support contact; a billing info update triggers an
# immediate retry; and by default the cycle ends by failing the invoice, which can then no longer be
# collected. No API call stops them for one invoice.
HAND_OFF_BY_SETTING = (
    "Recurly retries a declined renewal by itself until the invoice's dunning cycle ends. Its "
    "documentation shows no setting you can change yourself that turns those retries off: a dunning "
    "campaign sets only its emails, the length of the cycle and what happens at its end, and the "
    "retry limits are changed by your Recurly support contact. Before turning the hand-off on: ask "
    "Recurly support to turn off automatic retries of declined renewals on your site, and under "
    "Configuration → Dunning Management set every campaign to leave the invoice past due at the end "
    "of the cycle instead of failing it, so Revtain can still collect it. Until Recurly confirms its "
    "retries are off, leave the hand-off off."
)
SETUP = (
    "In Recurly, Integrations → Webhooks → New Endpoint: paste the URL, choose the JSON payload "
    "format, select the notifications Payment: Failed, Payment: Succeeded and Billing Info: Updated, "
    "then copy the endpoint's secret key into Revtain. The hand-off is off until you turn it on: "
    "Recurly keeps retrying (at once, too, when the billing info is updated) while Revtain sends the "
    "dunning emails and closes each recovery when Recurly reports the payment. Recurly's retries "
    "cannot be stopped through its API, so turn the hand-off on only once they are off (see below); "
    "Revtain then collects each invoice through Recurly itself. Turn off Recurly's own past-due "
    "emails if customers should get only Revtain's."
)

TOLERANCE_MS = 5 * 60 * 1000
SIGNATURE_HEADER = "recurly-signature"
MAX_REF = 255

PAYMENT_FAILED = "payment.failed"
BILLING_INFO_UPDATED = "billing_info.updated"
PAYMENT_SUCCEEDED = "payment.succeeded"
# The same events under the names of Recurly's XML notifications (and of the Revtain docs).
LEGACY = {
    "failed_payment": PAYMENT_FAILED,
    "failed_payment_notification": PAYMENT_FAILED,
    "billing_info_updated": BILLING_INFO_UPDATED,
    "billing_info_updated_notification": BILLING_INFO_UPDATED,
    "successful_payment": PAYMENT_SUCCEEDED,
    "successful_payment_notification": PAYMENT_SUCCEEDED,
}
EVENTS = (PAYMENT_FAILED, BILLING_INFO_UPDATED, PAYMENT_SUCCEEDED)
_SUBDOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def check_credentials(credentials: Mapping[str, Any]) -> dict[str, str]:
    """The key itself is checked by ``RecurlyClient``; here the secret, the subdomain (a pasted
    ``https://acme.recurly.com`` becomes ``acme``) and the region."""
    cleaned = require(credentials, CREDENTIALS, LABEL)
    secret = cleaned["webhook_secret"]
    if len(secret) > 255 or any(c.isspace() for c in secret):
        raise ValueError("Recurly's webhook secret key has no spaces (copy it from the endpoint)")
    subdomain = cleaned["subdomain"].lower().removeprefix("https://").removeprefix("http://")
    subdomain = subdomain.rstrip("/").removesuffix(".recurly.com")
    if not _SUBDOMAIN.fullmatch(subdomain):
        raise ValueError("Recurly's subdomain is the xxx in xxx.recurly.com")
    cleaned["subdomain"] = subdomain
    region = cleaned.pop("region", "us").lower()
    if region not in REGIONS:
        raise ValueError("Recurly's data center is us or eu")
    if region != "us":
        cleaned["region"] = region
    return cleaned


# -- the webhook -----------------------------------------------------------------------------------


def read(credentials: Mapping[str, str], headers: Headers, body: bytes, *, now_ms: int | None = None
         ) -> Inbound:
    verify(credentials.get("webhook_secret") or "", headers.get(SIGNATURE_HEADER), body, now_ms=now_ms)
    return parse(credentials, body)


def verify(secret: str, header: str | None, body: bytes, *, now_ms: int | None = None) -> None:
    """``Unauthorized`` unless one of the header's signatures is the body's, signed at most five
    minutes from now. Every signature is compared in constant time."""
    if not secret:
        raise Unauthorized(f"{SIGNATURE_HEADER}: no webhook secret key is set up")
    if not header:
        raise Unauthorized(f"{SIGNATURE_HEADER}: missing")
    timestamp, *signatures = (part.strip() for part in header.split(","))
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 16) or not signatures:
        raise Unauthorized(f"{SIGNATURE_HEADER}: not <timestamp>,<signature>")
    now = round(time.time() * 1000) if now_ms is None else now_ms
    if abs(now - int(timestamp)) > TOLERANCE_MS:
        raise Unauthorized(f"{SIGNATURE_HEADER}: the timestamp is more than 5 minutes from now")
    signed = f"{int(timestamp)}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest().encode()
    matched = False
    for signature in signatures:
        matched |= hmac.compare_digest(expected, signature.encode("utf-8", "replace"))
    if not matched:
        raise Unauthorized(f"{SIGNATURE_HEADER}: no signature matches")


def parse(credentials: Mapping[str, str], body: bytes, event_type: str | None = None) -> Inbound:
    try:
        data = json.loads(body)
    except ValueError:  # UnicodeDecodeError included
        raise BadPayload("the body is not a Recurly notification in JSON") from None
    if not isinstance(data, dict):
        raise BadPayload("the body is not a Recurly notification in JSON")
    event_id, object_type, event_type = data.get("id"), data.get("object_type"), data.get("event_type")
    if not isinstance(event_id, str) or not event_id.strip():
        raise BadPayload("a Recurly notification has an id")
    if not isinstance(event_type, str) or not event_type or not isinstance(object_type, str | None):
        raise BadPayload("a Recurly notification has an event_type")
    name = f"{object_type}.{event_type}" if object_type else event_type
    return Inbound(event_id, name, iso_time(data.get("event_time")), data)


def _meaning(event_type: str) -> str:
    return LEGACY.get(event_type, event_type)


def handled(event_type: str) -> bool:
    return _meaning(event_type) in EVENTS


def normalise(inbound: Inbound, client: RecurlyClient) -> Fact:
    meaning = _meaning(inbound.event_type)
    if meaning in (PAYMENT_FAILED, PAYMENT_SUCCEEDED):
        uuid = _ref(inbound.payload, "uuid")
        return client.failed_payment(uuid) if meaning == PAYMENT_FAILED else client.succeeded_payment(uuid)
    if meaning == BILLING_INFO_UPDATED:
        return client.billing_info_updated(_ref(inbound.payload, "account_code"))
    return Ignored(f"{inbound.event_type} is not handled")


def _ref(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_REF:
        raise BadPayload(f"a Recurly {name} is missing from the notification")
    return value.strip()
