"""The outgoing webhooks, as the OpenAPI document shows them (its ``webhooks``): one model per event
body that ``payloads.py`` (and the alerts and pre-retry check) build, and what each is for.

The tests build every payload from a real recovery and validate it against these models, so a key
added to a payload without being documented here fails them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..api.schemas import (
    HoldoutEvent,
    MerchantAlertEvent,
    PreRetryAnswer,
    PreRetryQuestion,
    RecommendedAction,
    RecoveryState,
)

EVENT_ID = Field(description="Unique per event (a ULID); the same on every retry of its delivery. Also "
                 "sent as the webhook-id header")
TRIGGER = Field(default=None, description='What produced the outcome: "scheduled_retry" for a queued '
                'retry, "reconciliation" when a lost gateway answer was looked up; absent for execute\'s '
                "own answer. Telemetry only")
IDEMPOTENCY_KEY = Field(default=None, description="Present when execute was given one")
SIMULATED = Field(default=None, description="Present (true) for a simulateOutcome request")


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecoverySuccessEvent(_Event):
    """``recovery.success``: a failed payment was recovered (at once or by a later retry)."""

    event: Literal["recovery.success"]
    revtainTransactionId: str = Field(description="execute's transactionId")
    gatewayTransactionToken: str | None = Field(description="The gateway's charge or payment id")
    amount: int
    currency: str
    message: Literal["Succeeded!"]
    strategyUsed: str | None
    trigger: str | None = TRIGGER
    idempotencyKey: str | None = IDEMPOTENCY_KEY
    isSimulated: Literal[True] | None = SIMULATED
    recoveryState: RecoveryState | None = None
    eventId: str = EVENT_ID


class RecoveryFailedEvent(_Event):
    """``recovery.failed``: every strategy is exhausted (sent when the client's dunning is enabled)."""

    event: Literal["recovery.failed"]
    revtainTransactionId: str
    amount: int
    currency: str
    declineCode: str | None
    strategyUsed: str | None
    gatewaysAttempted: int
    message: Literal["All recovery strategies exhausted."]
    recommendedAction: RecommendedAction
    recommendedActionReason: str
    trigger: str | None = TRIGGER
    idempotencyKey: str | None = IDEMPOTENCY_KEY
    isSimulated: Literal[True] | None = SIMULATED
    recoveryState: RecoveryState | None = None
    eventId: str = EVENT_ID


class RecoveryBlockedEvent(_Event):
    """``recovery.blocked``: a blocked decline (fraud, lost or stolen card, authentication required);
    no retry is made."""

    event: Literal["recovery.blocked"]
    revtainTransactionId: str
    amount: int
    currency: str
    declineCode: str | None
    action: Literal["blocked"]
    message: str
    recommendedAction: RecommendedAction
    recommendedActionReason: str
    idempotencyKey: str | None = IDEMPOTENCY_KEY
    isSimulated: Literal[True] | None = SIMULATED
    recoveryState: RecoveryState | None = None
    eventId: str = EVENT_ID


class CardUpdatedEvent(_Event):
    """``card.updated``: the customer completed a card-update link. Use the new token from now on."""

    event: Literal["card.updated"]
    oldPaymentMethodToken: str
    newPaymentMethodToken: str = Field(description="Gateway-native, e.g. a Stripe pm_…")
    customerEmail: str | None
    updatedAt: str = Field(description="ISO 8601 UTC")
    revtainTransactionId: str | None = Field(default=None, description="The recovery the link was for")
    eventId: str = EVENT_ID


@dataclass(frozen=True)
class Webhook:
    event: str
    model: type[BaseModel]
    summary: str
    description: str
    answer: type[BaseModel] | None = None
    example: dict[str, Any] | None = None


SIGNED = ("Signed with X-Revtain-Signature (hex HMAC-SHA256 of the raw body, keyed with the whole "
          "whsec_ secret) and the Standard Webhooks headers. Answer any 2xx within 10 seconds; other "
          "answers are retried at 0 s, 2 s, 8 s, then on a durable schedule over 24 hours, with the "
          "same bytes and signature. Deduplicate on eventId.")

_TX = "01KKZ14FEZK152ZBXEM2XK1B0C"
_EVENT_ID = "01KKZ1B8Q2W3E4R5T6Y7U8I9O0"

WEBHOOKS: tuple[Webhook, ...] = (
    Webhook("recovery.success", RecoverySuccessEvent, "A failed payment was recovered", SIGNED, example={
        "event": "recovery.success", "revtainTransactionId": _TX,
        "gatewayTransactionToken": "pi_3OZQ8K2eZvKYlo2C1abc1234", "amount": 5000, "currency": "USD",
        "message": "Succeeded!", "strategyUsed": "primary", "eventId": _EVENT_ID}),
    Webhook("recovery.failed", RecoveryFailedEvent, "All recovery strategies exhausted", SIGNED, example={
        "event": "recovery.failed", "revtainTransactionId": _TX, "amount": 5000, "currency": "USD",
        "declineCode": "do_not_honor", "strategyUsed": "primary", "gatewaysAttempted": 1,
        "message": "All recovery strategies exhausted.", "recommendedAction": "retry_later",
        "recommendedActionReason": "The issuer returned a soft decline. A later retry, or a card update, "
        "may succeed.", "trigger": "scheduled_retry", "eventId": _EVENT_ID}),
    Webhook("recovery.blocked", RecoveryBlockedEvent, "Blocked by the risk engine; no retry", SIGNED,
            example={
        "event": "recovery.blocked", "revtainTransactionId": _TX, "amount": 5000, "currency": "USD",
        "declineCode": "fraudulent", "action": "blocked",
        "message": "Transaction blocked by Revtain Risk Engine to protect Merchant Health.",
        "recommendedAction": "manual_review",
        "recommendedActionReason": "The issuer flagged this card as fraudulent, lost, stolen or restricted. "
        "Do not retry; review the account.",
        "eventId": _EVENT_ID}),
    Webhook("card.updated", CardUpdatedEvent, "The customer updated their card", SIGNED, example={
        "event": "card.updated", "oldPaymentMethodToken": "pm_old", "newPaymentMethodToken": "pm_new",
        "customerEmail": "customer@example.com", "updatedAt": "2026-03-18T09:30:00.000Z",
        "revtainTransactionId": _TX, "eventId": _EVENT_ID}),
    Webhook("recovery.holdout", HoldoutEvent,
            "Proof Mode: the payment is in the control group; Revtain never charges it", SIGNED),
    Webhook("merchant.alert", MerchantAlertEvent,
            "An alert to the merchant's team, when notificationChannels includes WEBHOOK",
            SIGNED + " A dead webhook URL is alerted by email and SMS only."),
    Webhook("recovery.pre_retry_check", PreRetryQuestion,
            "Pre-retry check (optional): asked before each scheduled retry",
            "Sent to the client's pre-retry check URL, signed like the webhooks (webhook-id is the "
            "checkId). Answer within answerWithinSeconds (3 s unless set); redirects are not followed. "
            "Anything but a 2xx with a valid answer, or no answer in time: the retry goes ahead.",
            answer=PreRetryAnswer),
)
