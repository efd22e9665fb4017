"""Braintree subscriptions through the ``braintree`` library. The "invoice" of a recovery is the
past-due subscription: ``subscription.find`` reads what it owes, ``subscription.retry_charge``
collects it (so Braintree's own books, balance and status stay right), and ``lookup`` answers
reconciliation from the subscription's state.

Like the Braintree gateway adapter (whose configuration, amount formatting and transaction mapping
this reuses), every client owns its ``Configuration`` with HTTP exceptions wrapped and timeouts.

**Which failure is which recovery.** A past-due subscription owes one balance: Braintree collects it
whole on every later charge, and a failed charge, its automatic retries, a ``went_past_due`` and a
later cycle's failed charge are all the same debt growing. So a recovery is keyed on the *unpaid
stretch*: the subscription id and the billing period of the first failed charge since the last
successful one (``invoice_ref``). Repeated notifications of that stretch collapse into one
recovery; the success that ends the stretch names the same ref and closes it; a failure after the
subscription was paid up starts a new stretch, and a new recovery.

**Re-runs.** ``retry_charge`` takes no idempotency key and no order id. A job that charged and died
before recording it runs ``charge`` again with the same attempt: ``charge`` first reads the
subscription, and when it owes nothing any more answers with the newest successful transaction
instead of charging again (a charge still authorizing is "unknown", for reconciliation). It never
collects more than the subscription owes now. What it cannot
tell apart: its own lost charge from a payment made another way in that same moment (both leave
the subscription paid, and neither is collected twice), and a lost *declined* charge, which a re-run
asks again (a decline moves no money).

**The hand-off.** Braintree's automatic retries of past-due subscriptions are a Control Panel
setting (Processing, Recurring Billing) with no API in the SDK or the GraphQL API, so
``stop_retries`` calls nothing: the merchant turns them off before turning the hand-off on (the
connector's ``HAND_OFF_BY_SETTING``), and the hand-off is off until they do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from xml.parsers.expat import ExpatError

import braintree
from braintree.exceptions import NotFoundError
from braintree.exceptions.braintree_error import BraintreeError

from ..base import ChargeRequest, ChargeResult, credentials_object
from ..braintree_gateway import (
    APPROVED_STATUSES,
    DEFAULT_TIMEOUT,
    UNREADABLE,
    BraintreeGateway,
    _result_from_exception,
    _result_from_transaction,
    _validation_error,
    currency_exponent,
    format_amount,
)
from .base import PaymentFailed, PaymentSucceeded, PlatformUnavailable

FAILED_STATUSES = frozenset(["processor_declined", "gateway_rejected", "failed", "settlement_declined"])
PAST_DUE = braintree.Subscription.Status.PastDue
CLOSED = frozenset([braintree.Subscription.Status.Canceled, braintree.Subscription.Status.Expired])
REF_SEPARATOR = ":"  # subscription ids are letters, digits, "-" and "_"


def invoice_ref(subscription_id: str, period_start: date | None) -> str:
    return f"{subscription_id}{REF_SEPARATOR}{period_start.isoformat()}" if period_start else subscription_id


def subscription_of(ref: str | None) -> str:
    """The subscription id in an ``invoice_ref``."""
    return (ref or "").partition(REF_SEPARATOR)[0].strip()


def to_minor(amount: Any, currency: str) -> int:
    """Braintree's decimal amount in the smallest unit of ``currency`` ("49.00" USD → 4900)."""
    try:
        value = Decimal(str(amount if amount is not None else 0))
    except InvalidOperation:
        raise ValueError(f"Braintree amount {amount!r} is not a number") from None
    return int((value * 10 ** currency_exponent(currency)).to_integral_value(ROUND_HALF_UP))


class BraintreeBillingClient:
    platform = "braintree"
    decline_gateway = "braintree"

    def __init__(
        self,
        *,
        merchant_id: str,
        public_key: str,
        private_key: str,
        environment: str = "sandbox",
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        http_strategy: Any = None,
    ) -> None:
        # The gateway adapter checks the keys and builds the client's own Configuration.
        adapter = BraintreeGateway(merchant_id=merchant_id, public_key=public_key, private_key=private_key,
                                   environment=environment, timeout=timeout, http_strategy=http_strategy)
        self.sdk: braintree.BraintreeGateway = adapter._gateway
        self._adapter = adapter  # the card-update page's card setup (card_setup())

    @classmethod
    def from_credentials(
        cls, credentials: str | Mapping[str, Any] | None, **kwargs: Any
    ) -> BraintreeBillingClient:
        """From the connector's credentials (JSON, or already decoded): ``{"merchant_id", "public_key",
        "private_key", "environment": "sandbox"|"production"}``."""
        data = credentials_object(credentials, "Braintree")
        return cls(merchant_id=data.get("merchant_id"), public_key=data.get("public_key"),
                   private_key=data.get("private_key"), environment=data.get("environment") or "sandbox",
                   **kwargs)

    def __repr__(self) -> str:  # never show the keys
        return "<BraintreeBillingClient>"

    # -- reading ----------------------------------------------------------------------------------

    def failed_subscription(self, subscription_id: str) -> PaymentFailed:
        """A failed charge or past-due notification: what the subscription owes now (0 once it is paid
        up), its payment method and customer, the merchant account's currency and the decline code
        of the newest failed charge."""
        try:
            subscription = self.sdk.subscription.find(subscription_id)
            currency = self.sdk.merchant_account.find(subscription.merchant_account_id).currency_iso_code
            token = subscription.payment_method_token
            if not token:
                raise ValueError(f"subscription {subscription_id!r} has no payment method to retry")
            customer = self.sdk.payment_method.find(token).customer_id
            email = self._email(customer)
        except NotFoundError:
            raise ValueError(f"Braintree has no subscription {subscription_id!r} or no card for it") from None
        except (BraintreeError, ExpatError) as exc:
            raise _unavailable("reading the subscription", exc) from None
        sales = _sales(subscription)
        failed = next((i for i, tx in enumerate(sales) if tx.status in FAILED_STATUSES), None)
        start = _stretch_start(sales, failed) if failed is not None else None
        start = start or _date(subscription, "billing_period_start_date")
        return PaymentFailed(
            invoice_ref=invoice_ref(subscription.id, start),
            customer_ref=customer,
            token=f"{token}|{customer}" if customer else token,
            amount=_owed(subscription, sales, currency),
            currency=str(currency or "").upper(),
            decline_code=_decline_code(sales[failed]) if failed is not None else None,
            customer_email=email,
            **(_network_signals(sales[failed]) if failed is not None else {}),
        )

    def paid_subscription(self, subscription_id: str) -> PaymentSucceeded:
        """A successful charge: the transaction that paid, and the stretch of failures it ended."""
        try:
            subscription = self.sdk.subscription.find(subscription_id)
        except NotFoundError:
            raise ValueError(f"Braintree has no subscription {subscription_id!r}") from None
        except (BraintreeError, ExpatError) as exc:
            raise _unavailable("reading the subscription", exc) from None
        sales = _sales(subscription)
        paid = next((i for i, tx in enumerate(sales) if tx.status in APPROVED_STATUSES), None)
        if paid is None:
            raise ValueError(f"Braintree shows no successful charge of subscription {subscription_id!r}")
        tx = sales[paid]
        start = (_stretch_start(sales, paid + 1) or _period_start(tx)
                 or _date(subscription, "billing_period_start_date"))
        currency = str(getattr(tx, "currency_iso_code", None) or "USD").upper()
        return PaymentSucceeded(
            invoice_ref=invoice_ref(subscription.id, start),
            customer_ref=getattr(getattr(tx, "customer_details", None), "id", None),
            amount=to_minor(tx.amount, currency),
            currency=currency,
            transaction_ref=tx.id,
        )

    def _email(self, customer_id: str | None) -> str | None:
        if not customer_id:
            return None
        try:
            return self.sdk.customer.find(customer_id).email or None
        except NotFoundError:
            return None

    # -- collecting -------------------------------------------------------------------------------

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Point the subscription at ``request.token``'s payment method if it names another one, then
        ``retry_charge`` the recovery's amount (at most what the subscription owes now)."""
        subscription_id = subscription_of(request.invoice_ref)
        token = request.token.split("|", 1)[0].strip()
        if not subscription_id or not token:
            return ChargeResult("error", decline_code="invalid_request",
                                message="no subscription or payment method")
        if request.amount <= 0:
            return ChargeResult("error", decline_code="invalid_request", message="amount must be positive")
        try:
            subscription = self.sdk.subscription.find(subscription_id)
            if subscription.status in CLOSED:
                return _closed(subscription)
            in_flight = _in_flight(subscription)
            if in_flight is not None:
                return in_flight
            if not _owes(subscription):
                # Paid up: a re-run of an attempt whose charge went through (or paid another way).
                return _paid(subscription)
            balance = to_minor(getattr(subscription, "balance", None), request.currency)
            amount = min(request.amount, balance) if balance > 0 else request.amount
            if token != subscription.payment_method_token:
                moved = self._move_to(subscription, token)
                if moved is not None:
                    return moved
            result = self.sdk.subscription.retry_charge(
                subscription_id, format_amount(amount, request.currency), submit_for_settlement=True
            )
        except NotFoundError:
            return ChargeResult("error", decline_code="invalid_request",
                                message="Braintree has no such subscription or payment method")
        except BraintreeError as exc:
            return _result_from_exception(exc)
        except ExpatError:  # an unparseable answer: the charge may have happened
            return UNREADABLE
        if result.is_success or getattr(result, "transaction", None) is not None:
            return _result_from_transaction(result.transaction)
        return _validation_error(result)

    def _move_to(self, subscription: Any, token: str) -> ChargeResult | None:
        """Charge with another payment method: the subscription is updated to it. Without proration
        (``prorate_charges: false``) Braintree does not retry a past-due subscription on that update;
        if it did anyway, its charge is this attempt's answer and nothing is charged again."""
        before = {tx.id for tx in _sales(subscription)}
        updated = self.sdk.subscription.update(
            subscription.id, {"payment_method_token": token, "options": {"prorate_charges": False}}
        )
        if not updated.is_success:
            return _validation_error(updated)
        new = [tx for tx in _sales(updated.subscription) if tx.id not in before]
        return _result_from_transaction(new[0]) if new else None

    def lookup(self, request: ChargeRequest) -> ChargeResult | None:
        try:
            subscription = self.sdk.subscription.find(subscription_of(request.invoice_ref))
        except NotFoundError:
            return ChargeResult("error", decline_code="invalid_request",
                                message="Braintree has no such subscription")
        except BraintreeError as exc:
            mapped = _result_from_exception(exc)
            return ChargeResult("unknown", decline_code=mapped.decline_code, message=mapped.message)
        except ExpatError:
            return UNREADABLE
        if subscription.status in CLOSED:
            return _closed(subscription)
        in_flight = _in_flight(subscription)
        if in_flight is not None:
            return in_flight
        if _owes(subscription):
            return None  # still past due: nothing was collected
        return _paid(subscription)

    def stop_retries(self, invoice_ref: str) -> None:
        """Nothing to call: Braintree's retries of past-due subscriptions are switched off in its Control
        Panel only (no API exists), which the merchant does before turning the hand-off on."""
        return None

    # -- the card-update page (card_setup.PlatformCardSetup) ----------------------------------------

    def card_setup(self) -> BraintreeGateway:
        """The gateway adapter's card setup with this account's keys: Hosted Fields, and the nonce
        vaulted for the customer, verified and made their default."""
        return self._adapter

    def use_card(self, invoice_ref: str, token: str) -> None:
        """The subscription's payment method becomes ``token``'s, without proration (as ``charge``
        moves it), so Braintree's own retries and later cycles charge the new card."""
        subscription_id = subscription_of(invoice_ref)
        payment_method = token.split("|", 1)[0].strip()
        if not subscription_id or not payment_method:
            raise ValueError("no subscription or payment method")
        try:
            result = self.sdk.subscription.update(subscription_id, {
                "payment_method_token": payment_method, "options": {"prorate_charges": False}})
        except NotFoundError:
            raise ValueError(f"Braintree has no subscription {subscription_id!r}") from None
        except (BraintreeError, ExpatError) as exc:
            raise _unavailable("updating the subscription's card", exc) from None
        if not result.is_success:
            raise ValueError(_validation_error(result).message)


# -- reading a subscription ---------------------------------------------------------------------------


def _sales(subscription: Any) -> list[Any]:
    """The subscription's charges, newest first (refunds are not charges)."""
    sales = [tx for tx in getattr(subscription, "transactions", None) or []
             if getattr(tx, "type", "sale") == "sale"]
    return sorted(sales, key=lambda tx: _as_datetime(getattr(tx, "created_at", None)), reverse=True)


def _as_datetime(value: Any) -> datetime:
    return value.replace(tzinfo=None) if isinstance(value, datetime) else datetime.min


def _date(obj: Any, name: str) -> date | None:
    value = getattr(obj, name, None)
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def _period_start(tx: Any) -> date | None:
    return _date(getattr(tx, "subscription_details", None), "billing_period_start_date")


def _stretch_start(sales: Sequence[Any], start: int) -> date | None:
    """The billing period of the oldest failed charge from ``sales[start]`` back to the previous
    successful one: where this unpaid stretch began (None when there was no failed charge)."""
    oldest = None
    for tx in sales[start:]:
        if tx.status in APPROVED_STATUSES:
            break
        if tx.status in FAILED_STATUSES:
            oldest = tx
    return _period_start(oldest) if oldest is not None else None


def _owes(subscription: Any) -> bool:
    return subscription.status == PAST_DUE or Decimal(str(getattr(subscription, "balance", 0) or 0)) > 0


def _owed(subscription: Any, sales: Sequence[Any], currency: str) -> int:
    """What the subscription owes now: its balance; for a past-due one without a balance, the failed
    charge's amount or the next period's; nothing once it is paid up, canceled or expired."""
    if subscription.status in CLOSED:
        return 0
    balance = to_minor(getattr(subscription, "balance", None), currency)
    if balance > 0 or subscription.status != PAST_DUE:
        return max(balance, 0)
    failed = next((tx for tx in sales if tx.status in FAILED_STATUSES), None)
    amount = (getattr(failed, "amount", None) if failed is not None else None) or getattr(
        subscription, "next_billing_period_amount", None) or getattr(subscription, "price", None)
    return to_minor(amount, currency)


def _network_signals(tx: Any) -> dict[str, str | None]:
    """The failed sale's merchant advice code and network response code, as the adapter reads them."""
    mapped = _result_from_transaction(tx)
    return {"network_decline_code": mapped.network_code, "advice_code": mapped.advice_code}


def _decline_code(tx: Any) -> str | None:
    """The processor's response code as the gateway adapter reads it; for a transaction that
    "failed" (the processor was not reached) its processor code, e.g. 3000."""
    mapped = _result_from_transaction(tx)
    if tx.status == "failed":
        return getattr(tx, "processor_response_code", None) or mapped.decline_code
    return mapped.decline_code


def _in_flight(subscription: Any) -> ChargeResult | None:
    """The newest charge is still authorizing: its outcome is not known yet, so nothing else is
    charged (reconciliation looks again)."""
    sales = _sales(subscription)
    if sales and sales[0].status == "authorizing":
        return ChargeResult("unknown", transaction_id=sales[0].id, message="transaction authorizing")
    return None


def _paid(subscription: Any) -> ChargeResult:
    paid = next((tx for tx in _sales(subscription) if tx.status in APPROVED_STATUSES), None)
    if paid is None:
        return ChargeResult("error", decline_code="nothing_owed", message="the subscription owes nothing")
    return ChargeResult("approved", transaction_id=paid.id)


def _closed(subscription: Any) -> ChargeResult:
    status = str(subscription.status)
    return ChargeResult("error", decline_code=f"subscription_{status.lower()}",
                        message=f"the subscription is {status}")


def _unavailable(what: str, exc: Exception) -> PlatformUnavailable:
    return PlatformUnavailable(f"Braintree: {what} failed ({type(exc).__name__})")
