"""Request and response schemas, declared once: they validate requests and make the OpenAPI doc."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from ..currencies import ISO_4217
from ..engine.customer_clock import valid_country, valid_timezone

MAX_AMOUNT = 100_000_000
MIN_AMOUNT = 50
PAYMENT_METHOD_TYPES = (
    "card", "apple_pay", "google_pay", "sepa_debit", "bacs_debit", "ach_debit", "paypal",
    "direct_debit",
)

Token = Annotated[str, Field(min_length=1, max_length=512)]
Amount = Annotated[
    StrictInt,
    Field(
        le=MAX_AMOUNT,
        description="Smallest currency unit, 50 to 100000000. A client on the Revtain Test Gateway "
        "may also send exactly 44, which simulates a gateway-level failure.",
        json_schema_extra={"minimum": MIN_AMOUNT},
    ),
]
Currency = Annotated[
    str | None,
    Field(default="USD", description="ISO 4217 code; default USD", examples=["USD"]),
]


def _currency(value: str | None) -> str:
    if value is None:
        return "USD"
    code = value.strip().upper()
    if code not in ISO_4217:
        raise ValueError("must be a 3-letter ISO 4217 currency code such as USD")
    return code


def _amount(value: int, info: ValidationInfo) -> int:
    allow_44 = bool(info.context and info.context.get("test_gateway"))
    if value < MIN_AMOUNT and not (allow_44 and value == 44):
        raise ValueError(f"must be between {MIN_AMOUNT} and {MAX_AMOUNT} (smallest currency unit)")
    return value


# JSON Schema (ECMA-262) for "text without U+0000", declared on every request string: PostgreSQL
# text cannot store a NUL, so ``_Request._no_nul`` refuses one with a 400.
NO_NUL = r"^[^\x00]*$"


def _declare_no_nul(schema: dict[str, Any]) -> None:
    def declare(node: dict[str, Any]) -> None:
        for branch in node.get("anyOf", ()):
            declare(branch)
        if isinstance(node.get("items"), dict):
            declare(node["items"])
        if node.get("type") == "string" and "pattern" not in node and "enum" not in node:
            node["pattern"] = NO_NUL

    for prop in schema.get("properties", {}).values():
        declare(prop)


class _Request(BaseModel):
    # Unknown body fields are ignored (Decision 5).
    # A docstring under a field is its description in the OpenAPI document.
    model_config = ConfigDict(
        extra="ignore", json_schema_extra=_declare_no_nul, use_attribute_docstrings=True
    )

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """No identifier or code contains NUL, and PostgreSQL text cannot store one."""
        items = value if isinstance(value, list) else [value]
        if any(isinstance(item, str) and "\x00" in item for item in items):
            raise ValueError("must not contain NUL characters")
        return value


DESCRIPTION_MAX_LENGTH = 200
LOCALE_TAG = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$"
# -- the first failure's network signals (our additions, issue 10) ---------------------------------


def _network_decline_code(value: str | None) -> str | None:
    from ..engine.declines import NETWORK, lookup
    from ..engine.network_rules import VISA_CATEGORY_1, normalise_network_code

    code = normalise_network_code(value)
    if code is None:
        return None
    if code not in VISA_CATEGORY_1 and not lookup(NETWORK, code).known:
        raise ValueError("is not a known network (ISO 8583) response code, e.g. 05, 51 or 54")
    return code


def _merchant_advice_code(value: str | None) -> str | None:
    from ..engine.declines import advice
    from ..engine.network_rules import normalise_advice_code

    code = normalise_advice_code(value)
    if code is None:
        return None
    if advice(code) is None:
        raise ValueError(
            "is not a known Mastercard Merchant Advice Code (01, 02, 03, 21, 24-30) or Stripe "
            "advice_code (try_again_later, do_not_try_again, confirm_card_data)"
        )
    return code


CARD_NETWORKS = ("visa", "mastercard", "amex", "discover", "jcb")


def _card_network(value: str | None) -> str | None:
    if value is None:
        return None
    name = value.strip().lower()
    if name not in CARD_NETWORKS:
        raise ValueError(f"must be one of {', '.join(CARD_NETWORKS)}")
    return name


NetworkDeclineCode = Annotated[
    str | None,
    Field(max_length=8, description=(
        "Our addition: the card network's response code (ISO 8583, e.g. 51, 05, 54) of the failed "
        "payment. Visa Category 1 codes (e.g. 04, 41, 43, 46) mean Revtain never retries the card."
    ), examples=["51"]),
    AfterValidator(_network_decline_code),
]
MerchantAdviceCode = Annotated[
    str | None,
    Field(max_length=32, description=(
        "Our addition: the Mastercard Merchant Advice Code (01, 02, 03, 21, 24-30) or Stripe "
        "advice_code of the failed payment. 03 and 21 (and do_not_try_again) mean no retry at all; "
        "24-30 set the earliest retry (1 hour to 10 days)."
    ), examples=["24"]),
    AfterValidator(_merchant_advice_code),
]
CardNetworkField = Annotated[
    str | None,
    Field(max_length=16, description=(
        "Our addition: the card's network (visa, mastercard, amex, discover, jcb). Chooses the "
        "network's retry budget; when absent, the network of binPrefix, else every budget."
    ), examples=["visa"]),
    AfterValidator(_card_network),
]


class ExecuteRequest(_Request):
    paymentMethodToken: Token
    """The gateway's own token for the card that failed, e.g. a Stripe pm_…"""
    amount: Amount
    currency: Currency = "USD"
    originalDeclineCode: Annotated[str | None, Field(max_length=64)] = None
    """The gateway's decline code: it decides the strategy. Send it every time."""
    idempotencyKey: Annotated[str | None, Field(min_length=1, max_length=128)] = None
    """Your invoice id, say: the same key again is a 409, never a second charge."""
    cardOrigin: Annotated[str | None, Field(pattern=r"^[A-Za-z]{2}$")] = None
    """The issuer's country (ISO 3166-1 alpha-2)."""
    binPrefix: Annotated[str | None, Field(pattern=r"^[0-9]{6,8}$")] = None
    """The card number's first 6 to 8 digits."""
    customerEmail: Annotated[
        str | None, Field(max_length=320, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
    ] = None
    """For dunning emails and the paywall."""
    simulateOutcome: Literal["success", "failed", "blocked"] | None = None
    """Revtain Test Gateway only: the outcome to simulate."""
    fallbackPaymentMethodTokens: Annotated[list[Token] | None, Field(max_length=10)] = None
    """Other tokens of the same customer, tried in order when the first is declined."""
    paymentMethodType: Annotated[str | None, Field(max_length=64)] = None
    # Revtain additions (issue 15): shown to the customer on the card-update page.
    description: Annotated[str | None, Field(
        min_length=1, max_length=DESCRIPTION_MAX_LENGTH, pattern=r"^[^\x00-\x1f\x7f]*$",
        description="What the payment is for, shown to the customer (e.g. \"Pro plan, December\"); "
        f"at most {DESCRIPTION_MAX_LENGTH} characters, one line.",
    )] = None
    customerLocale: Annotated[str | None, Field(
        max_length=35, pattern=LOCALE_TAG,
        description="The customer's language as a BCP 47 tag (fr, fr-CA, de-DE); the card-update "
        "page is in English, French, German or Spanish, else in the browser's language.",
    )] = None
    # For SMS dunning steps (opt-in per merchant): the customer's mobile number in E.164.
    customerPhone: Annotated[str | None, Field(pattern=r"^\+[1-9][0-9]{6,14}$")] = None
    networkDeclineCode: NetworkDeclineCode = None
    merchantAdviceCode: MerchantAdviceCode = None
    cardNetwork: CardNetworkField = None

    _check_currency = field_validator("currency")(_currency)
    _check_amount = field_validator("amount")(_amount)

    @field_validator("cardOrigin")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value

    @field_validator("paymentMethodType")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        return value if value in PAYMENT_METHOD_TYPES else None

    # Our additions: the customer's clock (retries at the customer's paydays and local hours).
    customerTimezone: Annotated[str | None, Field(max_length=64, description=(
        "Our addition. The customer's IANA timezone, e.g. Europe/Paris: retries are timed on the "
        "customer's local clock. Default: the customer's (or card's) country, then your timezone."
    ))] = None
    customerCountry: Annotated[str | None, Field(pattern=r"^[A-Za-z]{2}$", description=(
        "Our addition. The customer's country (ISO 3166-1 alpha-2): its business days and public "
        "holidays decide the customer's paydays. Default: the card's issuing country."
    ))] = None

    # Our additions (issue 15): the card on file's expiry, for a reminder before it expires.
    cardExpMonth: Annotated[int | None, Field(strict=True, ge=1, le=12, description=(
        "Our addition. The card's expiry month (1-12); with cardExpYear, the customer is reminded "
        "to update the card a few days before it expires (CARD_EXPIRY_REMINDER_DAYS)."
    ))] = None
    cardExpYear: Annotated[int | None, Field(
        strict=True, ge=2000, le=2100, validate_default=True, description=(
        "Our addition. The card's expiry year, 4 digits; sent together with cardExpMonth."
    ))] = None

    @field_validator("cardExpYear")
    @classmethod
    def _card_expiry_pair(cls, value: int | None, info: ValidationInfo) -> int | None:
        if "cardExpMonth" not in info.data:  # cardExpMonth itself was refused
            return value
        if info.data["cardExpMonth"] is not None and value is None:
            raise ValueError("is required with cardExpMonth")
        if info.data["cardExpMonth"] is None and value is not None:
            raise ValueError("needs cardExpMonth too")
        return value

    @field_validator("customerTimezone")
    @classmethod
    def _iana_zone(cls, value: str | None) -> str | None:
        if value is not None and not valid_timezone(value.strip()):
            raise ValueError("must be an IANA timezone name, e.g. Europe/Paris")
        return value.strip() if value else None

    @field_validator("customerCountry")
    @classmethod
    def _iso_country(cls, value: str | None) -> str | None:
        if value is not None and not valid_country(value):
            raise ValueError("must be an ISO 3166-1 alpha-2 country code, e.g. FR")
        return value.upper() if value else None


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValueError("must be an email address, e.g. jo@example.com")
    return value


EmailAddress = Annotated[
    str, BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v), Field(max_length=320),
    AfterValidator(_email), WithJsonSchema({"type": "string", "format": "email", "maxLength": 320}),
]


class PulseRequest(_Request):
    amount: Amount
    currency: Currency = "USD"
    transactionId: Annotated[str | None, Field(min_length=1, max_length=128, description=(
        "Your own id of the payment. When it is the transactionId of a Proof Mode holdout, or the "
        "idempotencyKey that holdout was reported with, the held-out invoice counts as paid without Revtain."
    ))] = None
    customerEmail: EmailAddress | None = Field(
        default=None,
        description="Optional: whose payment this was. It settles that customer's earlier failed "
        "payments for the paywall (GET /api/recovery/paywall-status).",
    )

    _check_currency = field_validator("currency")(_currency)
    _check_amount = field_validator("amount")(_amount)


class StatusQuery(_Request):
    idempotencyKey: Annotated[str, Field(min_length=1, max_length=128)]


class PaywallQuery(_Request):
    customerEmail: EmailAddress = Field(
        description="The customerEmail sent to execute (matched case-insensitively)")


# ---- responses (documentation and schema checks; the views build plain dicts in this order) ----

RecommendedAction = Literal["request_card_update", "retry_later", "manual_review", "monitor"]

RECOVERY_STATES = (
    "processing", "queued", "awaiting_card", "unknown", "succeeded", "failed", "blocked", "holdout"
)
RecoveryState = Annotated[
    Literal[RECOVERY_STATES],  # type: ignore[valid-type]
    Field(description=(
        "Our addition: the recovery's internal state beside the documented status enum, e.g. "
        "awaiting_card (no retry on this card: waiting for the customer's new card)."
    )),
]


class Ai(BaseModel):
    score: float = Field(ge=0, le=100)
    confidence: int = Field(ge=0, le=100)
    reasoning: str
    dataSource: Literal["global", "merchant", "blended"]


class ExecuteResult(BaseModel):
    """200: recovered now (``success: true``) or all strategies exhausted (``success: false``)."""

    success: bool
    message: str
    error: str | None
    transactionId: str
    strategyUsed: str | None
    gatewaysAttempted: int
    recoveryEngineApplied: bool
    ai: Ai
    recommendedAction: RecommendedAction | None = None
    recommendedActionReason: str | None = None


class Queued(BaseModel):
    success: Literal[False]
    status: Literal["queued", "unknown"]
    message: str
    transactionId: str
    strategyUsed: str
    nextRetryAt: str | None
    recommendedAction: RecommendedAction
    recoveryState: RecoveryState | None = None


class Holdout(BaseModel):
    """200 for Proof Mode's control group: Revtain makes no attempt, now or later."""

    success: Literal[False]
    status: Literal["holdout"]
    holdout: Literal[True]
    message: str
    error: Literal["holdout"]
    transactionId: str
    strategyUsed: Literal["holdout"]
    gatewaysAttempted: Literal[0]
    recoveryEngineApplied: Literal[False]
    ai: Ai
    recommendedAction: RecommendedAction
    recommendedActionReason: str


class HoldoutEvent(BaseModel):
    """The ``recovery.holdout`` webhook: Proof Mode's control group, no attempt made or to be made."""

    event: Literal["recovery.holdout"]
    clientId: str
    paymentMethodToken: str
    amount: int
    currency: str
    customerEmail: str | None
    message: str
    holdout: Literal[True]
    revtainTransactionId: str
    idempotencyKey: str | None = Field(default=None, description="Present when execute was given one")
    isSimulated: Literal[True] | None = Field(default=None, description="Present (true) for simulateOutcome")
    recoveryState: RecoveryState | None = None
    eventId: str


class PreRetryQuestion(BaseModel):
    """What the pre-retry check asks the merchant's URL before a scheduled retry (signed like a webhook;
    ``webhook-id`` is the ``checkId``)."""

    event: Literal["recovery.pre_retry_check"]
    checkId: str
    revtainTransactionId: str
    idempotencyKey: str | None
    amount: int
    currency: str
    customerEmail: str | None
    paymentMethodToken: str
    retryNumber: int = Field(ge=1, description="Which scheduled retry this is, from 1")
    attemptsSoFar: int = Field(ge=0, description="Gateway attempts made for this recovery so far")
    lastDeclineCode: str | None
    source: str | None = Field(description="The billing platform of a connector's recovery, else null")
    sourceInvoice: str | None = Field(description="The platform's invoice, else null")
    failedAt: str = Field(description="When the payment was reported failed (ISO 8601 UTC)")
    answerWithinSeconds: float = Field(description="No answer in time: the retry goes ahead")


class PreRetryAnswer(BaseModel):
    """The merchant's answer, with a 2xx status. Anything else (another status, a redirect, another
    body, no answer in time) lets the retry go ahead."""

    action: Literal["proceed", "skip"]
    reason: str | None = Field(default=None, description=(
        '"paid_elsewhere" closes the recovery as paid (succeeded, strategyUsed "paid_elsewhere"); any '
        'other reason matching ^[a-z0-9_]{1,64}$, e.g. "subscription_cancelled", closes it as failed with '
        'that reason and stops its dunning; missing or unusable: "merchant_skipped"'))


class Blocked(BaseModel):
    error: str
    declineCode: str
    action: Literal["blocked"]
    transactionId: str
    recoveryState: RecoveryState | None = None


class Duplicate(BaseModel):
    error: Literal["Duplicate recovery request."]
    message: str
    existingTransactionId: str
    existingStatus: Literal["succeeded", "failed", "blocked", "unknown"]


class RateLimited(BaseModel):
    error: str
    retryAfter: str


class Error(BaseModel):
    error: str
    message: str | None = None
    fields: dict[str, str] | None = None


class Status(BaseModel):
    transactionId: str
    status: Literal["succeeded", "failed", "blocked", "unknown"]
    recovered: bool
    amount: int
    currency: str
    recoveredAt: str | None
    strategyUsed: str | None
    attemptCount: int
    lastDeclineCode: str | None
    recommendedAction: RecommendedAction | None = None
    recommendedActionReason: str | None = None
    pending: bool
    nextRetryAt: str | None = None
    isSimulated: bool
    holdout: bool = Field(description="Proof Mode's control group: Revtain never charges it")
    recoveryState: RecoveryState


class PaywallStatus(BaseModel):
    """``GET /api/recovery/paywall-status``: the customer's unrecovered failed payments. With failures
    in several currencies, ``currency`` is the latest failure's and ``totalOwedCents`` sums those in it."""

    isPastDue: bool = Field(description="The customer has 1 or more unrecovered failed payments")
    totalOwedCents: int = Field(description="Sum outstanding across unrecovered failures, smallest unit")
    currency: str
    failedPaymentCount: int = Field(description="Number of unrecovered failed payments")
    oldestFailureAt: str | None = Field(description="ISO 8601 UTC; null when not past due")


class PulseResult(BaseModel):
    success: Literal[True]
    message: Literal["Organic success logged"]
    transactionId: str


# ---- developer tools (contract 3.12) ----

DeclineCategory = Literal["hard", "soft", "fraud", "technical", "auth_required", "unknown"]


class DeclineVariant(BaseModel):
    gateway: str
    gatewayLabel: str
    rawCode: str


class DeclineLookup(BaseModel):
    """``GET /api/lookup/decline/{gateway}/{code}``; an unrecognised code has ``canonicalCode: "unknown"``."""

    gateway: str
    gatewayLabel: str
    rawCode: str
    canonicalCode: str
    category: DeclineCategory
    plainEnglish: str
    variantsOnOtherGateways: list[DeclineVariant]


class DeclineDictionaryEntry(BaseModel):
    """One raw code of one gateway in ``GET /api/lookup/declines``."""

    gateway: str
    gatewayLabel: str
    rawCode: str
    description: str | None
    canonicalCode: str
    category: DeclineCategory
    family: str
    recommendedAction: RecommendedAction
    neverRetry: bool
    plainEnglish: str


def _digits_text(value: Any) -> Any:
    """Card fields come as strings or integers; booleans and floats are not card data."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _card_field(max_length: int, description: str, example: str):
    return Annotated[
        str, BeforeValidator(_digits_text), Field(min_length=1, max_length=max_length),
        WithJsonSchema({"type": ["string", "integer"], "description": description, "examples": [example]}),
    ]


class TokenizeRequest(_Request):
    """A test card (Revtain Test Gateway only). Nothing of it is stored but brand, BIN and last four."""

    cardNumber: _card_field(32, "The card number; spaces and dashes are ignored", "4111 1111 1111 1111")
    expMonth: _card_field(2, "1 to 12", "12")
    expYear: _card_field(4, "2 or 4 digits", "2030")
    cvc: _card_field(4, "3 digits (4 for American Express)", "123")


class TokenizeResult(BaseModel):
    success: Literal[True]
    paymentMethodToken: str = Field(description="Send it to execute as paymentMethodToken")
    brand: Literal["visa", "mastercard", "amex", "jcb"]
    last4: str


class MerchantAlertEvent(BaseModel):
    """The ``merchant.alert`` webhook: an alert to the merchant's own team (``notificationChannels``
    includes ``WEBHOOK``). The transaction fields are present for alerts about a recovery."""

    event: Literal["merchant.alert"]
    alertId: str
    type: Literal["payment_failed", "needs_attention", "test"]
    message: str
    revtainTransactionId: str | None = None
    amount: int | None = None
    currency: str | None = None
    declineCode: str | None = None
    recommendedAction: RecommendedAction | None = None
    createdAt: str
    eventId: str


class BinLookup(BaseModel):
    """``GET /api/lookup/bin/{prefix}``: what the card's first 4 to 8 digits say."""

    prefix: str
    issuerName: str = Field(description='The issuing bank, or "Unknown"')
    issuerCountry: str = Field(description='ISO 3166-1 alpha-2, or "Unknown"')
    cardNetwork: Literal["visa", "mastercard", "amex", "discover", "unknown"]
    cardType: Literal["credit", "debit", "prepaid", "unknown"]
    cardScheme: str | None = Field(
        description="The BIN data's own brand name (e.g. jcb, unionpay, elo, maestro), also for networks "
        'outside cardNetwork\'s values; null when unknown'
    )


class RiskRequest(_Request):
    paymentMethodToken: Token
    amount: Amount
    currency: Currency = "USD"
    scheduledDate: AwareDatetime | None = Field(
        default=None, description="ISO 8601 time of the scheduled charge, with a time zone"
    )
    networkDeclineCode: NetworkDeclineCode = None
    merchantAdviceCode: MerchantAdviceCode = None
    cardNetwork: CardNetworkField = None

    _check_currency = field_validator("currency")(_currency)
    _check_amount = field_validator("amount")(_amount)

    @field_validator("scheduledDate", mode="before")
    @classmethod
    def _iso_text_only(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date-time string, e.g. 2026-05-01T09:00:00Z")
        return value


class CardUpdateLinkRequest(_Request):
    paymentMethodToken: Token


class CardUpdateLinkResult(BaseModel):
    url: str
    token: str
    expiresAt: str


class OutcomeRequest(_Request):
    paymentMethodToken: Token
    actualOutcome: Literal["succeeded", "failed", "blocked"]


class RiskPredictionBody(BaseModel):
    riskScore: float = Field(ge=0, le=100)
    confidence: int = Field(ge=0, le=100)
    reasoning: str
    factors: list[str]
    recommendation: Literal["proceed", "proceed_with_caution", "delay", "block"]
    predictionId: str


class RiskResult(BaseModel):
    success: Literal[True]
    prediction: RiskPredictionBody


class OutcomeResult(BaseModel):
    success: Literal[True]
    predictionId: str
    predictedRecommendation: str
    actualOutcome: str
    actual: str
    accurate: bool

