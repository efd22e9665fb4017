"""What every connector module provides, and the errors an inbound webhook can meet.

A connector module (``stripe_billing``, ``chargebee``, ``recurly``, ``braintree``, ``zuora``,
``recharge``) has:

* ``PLATFORM``: its URL slug; ``LABEL``: its name for people;
* ``CREDENTIALS``: the fields a merchant gives at set-up (``Field``), checked by ``check_credentials``;
* ``SETUP``: where in the platform to paste the URL, and which events to select;
* ``HAND_OFF_BY_SETTING`` (only where the platform's own retries are a setting the merchant
  controls in the platform, and no API stops them per invoice: Braintree, Recurly, Zuora,
  ReCharge): in plain words, what the merchant must switch off there before turning the hand-off
  on. Such a connector's hand-off is off until the merchant turns it on (so a card is never
  retried by both), and its client's ``stop_retries`` calls nothing;
* ``read(credentials, headers, body)``: verify the platform's signature (``Unauthorized``) and parse
  the body (``BadPayload``) into an ``Inbound``; done when the webhook arrives;
* ``parse(credentials, body, event_type=None)``: the same without the time-bound checks, for the job
  that processes a stored event later (``event_type`` is the type stored when it arrived, for a
  platform that sends it outside the body: ReCharge's ``X-Recharge-Topic``);
* ``handled(event_type)``: whether Revtain acts on that type (others are stored and ignored);
* ``normalise(inbound, client)``: the platform-neutral fact (``gateways.platforms.Fact``), reading
  what the webhook lacks through the platform's client (``PlatformUnavailable`` to try later).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class Unauthorized(Exception):
    """Unsigned, wrongly signed, or signed too long ago: a 401. The message is safe to show.
    ``challenge`` is the ``WWW-Authenticate`` value of a platform that answers a 401 by sending its
    credentials (Zuora's callouts without preemptive authentication)."""

    def __init__(self, message: str, *, challenge: str | None = None) -> None:
        super().__init__(message)
        self.challenge = challenge


class BadPayload(Exception):
    """Signed, but not a body this platform sends (not JSON, no event id): a 400."""


@dataclass(frozen=True)
class Inbound:
    event_id: str  # the platform's id, the deduplication key
    event_type: str  # the platform's own name for it
    occurred_at: datetime | None
    payload: Any  # the parsed event, as the platform's library gives it


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    secret: bool = False  # write-only: never shown again once saved
    required: bool = True
    help: str = ""


Headers = Mapping[str, str]


def require(credentials: Mapping[str, Any], fields: tuple[Field, ...], label: str) -> dict[str, str]:
    """The credentials with every required field present (``ValueError`` naming the missing ones);
    unknown keys are dropped and values stripped."""
    cleaned = {f.name: str(credentials.get(f.name) or "").strip() for f in fields}
    missing = [f.label for f in fields if f.required and not cleaned[f.name]]
    if missing:
        raise ValueError(f"{label} needs {', '.join(missing)}")
    return {k: v for k, v in cleaned.items() if v}


def iso_time(value: Any) -> datetime | None:
    """A platform's ISO 8601 timestamp (Recurly's ``event_time``, ReCharge's ``updated_at``); one
    without a zone is UTC; anything else is no time at all."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
