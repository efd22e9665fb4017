"""Stripe Billing through the ``stripe`` library: read a failed invoice's payment and decline code
through its invoice payments, collect an invoice with ``invoices.pay``, and stop Stripe's own
retries (``auto_advance: false``) on hand-off. The card-update page of its recoveries is the Stripe
gateway adapter's (a SetupIntent confirmed by Stripe Elements) with this account's keys.

Like the Stripe gateway adapter, every client owns its ``stripe.StripeClient`` (never the global
key) with the SDK's network retries off.
"""

from __future__ import annotations

from typing import Any

import stripe

from ..base import ChargeRequest, ChargeResult, credentials_object
from ..stripe_gateway import (
    DEFAULT_TIMEOUT,
    StripeGateway,
    _id_of,
    _result_from_error,
    _split_token,
    stripe_advice,
)
from .base import PaymentFailed, PaymentSucceeded, PlatformUnavailable


def _v(obj: Any, name: str) -> Any:
    """A field of a Stripe object, or None when Stripe left it out (StripeObjects are not dicts)."""
    return getattr(obj, name, None)


class StripeBillingClient:
    platform = "stripe-billing"
    decline_gateway = "stripe"

    def __init__(
        self,
        secret_key: str,
        *,
        publishable_key: str | None = None,
        http_client: stripe.HTTPClient | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        # The Stripe adapter checks the keys and owns the one StripeClient (its network retries off);
        # this client reads and collects invoices with it, and the card-update page uses it as is.
        self._gateway = StripeGateway(secret_key, publishable_key=publishable_key, http_client=http_client,
                                      timeout=timeout)
        self._client = self._gateway.stripe_client

    @classmethod
    def from_credentials(cls, credentials: str | None, **kwargs: Any) -> StripeBillingClient:
        """From the decrypted connector credentials: ``{"secret_key": "sk_…", "webhook_secret": …,
        "publishable_key": "pk_…"}`` (the publishable key is optional: the card-update page needs it)."""
        data = credentials_object(credentials, "Stripe Billing")
        return cls(data.get("secret_key"), publishable_key=data.get("publishable_key") or None, **kwargs)

    def __repr__(self) -> str:  # never show the key
        return "<StripeBillingClient>"

    # -- reading ----------------------------------------------------------------------------------

    def failed_invoice(self, invoice: Any) -> PaymentFailed:
        """What an ``invoice.payment_failed`` invoice lacks: the PaymentIntent that failed (through
        the invoice's payments), its payment method and decline code; the customer's default
        payment method when the intent has none."""
        invoice_id, customer = invoice.id, _id_of(_v(invoice, "customer"))
        try:
            payments = self._client.v1.invoice_payments.list(
                {"invoice": invoice_id, "expand": ["data.payment.payment_intent"], "limit": 10}
            )
            intents = [
                p.payment.payment_intent
                for p in payments.data
                if _v(p.payment, "type") == "payment_intent" and _v(p.payment, "payment_intent")
            ]
            intent = max(intents, key=lambda pi: _v(pi, "created") or 0) if intents else None
            error = _v(intent, "last_payment_error") if intent is not None else None
            payment_method = _id_of(_v(intent, "payment_method")) if intent is not None else None
            if payment_method is None and error is not None:
                payment_method = _id_of(_v(error, "payment_method"))
            if payment_method is None and customer:
                owner = self._client.v1.customers.retrieve(customer)
                settings = _v(owner, "invoice_settings") or {}
                payment_method = _id_of(_v(settings, "default_payment_method"))
        except stripe.StripeError as exc:
            raise _unavailable("reading the invoice's payments", exc) from None
        if payment_method is None:
            raise ValueError(f"invoice {invoice_id} has no payment method to retry")
        decline = (_v(error, "decline_code") or _v(error, "code")) if error is not None else None
        return PaymentFailed(
            invoice_ref=invoice_id,
            customer_ref=customer,
            token=f"{payment_method}|{customer}" if customer else payment_method,
            amount=int(_v(invoice, "amount_remaining") or _v(invoice, "amount_due") or 0),
            currency=str(_v(invoice, "currency") or "usd").upper(),
            decline_code=decline,
            customer_email=_v(invoice, "customer_email"),
            customer_country=_v(_v(invoice, "customer_address"), "country"),
            network_decline_code=_v(error, "network_decline_code") if error is not None else None,
            advice_code=stripe_advice(error) if error is not None else None,
        )

    def succeeded_intent(self, intent: Any) -> PaymentSucceeded:
        """A ``payment_intent.succeeded``: the invoice it paid, if any, through invoice payments."""
        try:
            payments = self._client.v1.invoice_payments.list(
                {"payment": {"type": "payment_intent", "payment_intent": intent.id}, "limit": 1}
            )
        except stripe.StripeError as exc:
            raise _unavailable("reading the intent's invoice", exc) from None
        invoice = _id_of(_v(payments.data[0], "invoice")) if payments.data else None
        return PaymentSucceeded(
            invoice_ref=invoice,
            customer_ref=_id_of(_v(intent, "customer")),
            amount=int(_v(intent, "amount_received") or _v(intent, "amount") or 0),
            currency=str(_v(intent, "currency") or "usd").upper(),
            transaction_ref=intent.id,
        )

    # -- collecting -------------------------------------------------------------------------------

    def charge(self, request: ChargeRequest) -> ChargeResult:
        if not request.invoice_ref:
            return ChargeResult("error", decline_code="invalid_request", message="no invoice to collect")
        payment_method, _ = _split_token(request.token)
        try:
            invoice = self._client.v1.invoices.pay(
                request.invoice_ref,
                {"payment_method": payment_method, "off_session": True},
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            return _result_from_error(exc)
        return self._result_from_invoice(invoice)

    def lookup(self, request: ChargeRequest) -> ChargeResult | None:
        try:
            invoice = self._client.v1.invoices.retrieve(request.invoice_ref or "")
        except stripe.StripeError as exc:
            mapped = _result_from_error(exc)
            return ChargeResult("unknown", decline_code=mapped.decline_code, message=mapped.message)
        if _v(invoice, "status") == "open":
            return None  # still unpaid: nothing was collected
        return self._result_from_invoice(invoice)

    def _result_from_invoice(self, invoice: Any) -> ChargeResult:
        status = _v(invoice, "status")
        if status != "paid":
            return ChargeResult("error", decline_code=f"invoice_{status}", message=f"invoice is {status}")
        return ChargeResult("approved", transaction_id=self._paying_intent(invoice.id) or invoice.id)

    def _paying_intent(self, invoice_id: str) -> str | None:
        """The PaymentIntent that paid the invoice (what merchants know as the charge); the invoice
        id stands in when it cannot be read."""
        try:
            payments = self._client.v1.invoice_payments.list(
                {"invoice": invoice_id, "status": "paid", "limit": 1}
            )
        except stripe.StripeError:
            return None
        for payment in payments.data:
            intent = _id_of(_v(payment.payment, "payment_intent"))
            if intent:
                return intent
        return None

    def stop_retries(self, invoice_ref: str) -> None:
        try:
            self._client.v1.invoices.update(invoice_ref, {"auto_advance": False})
        except stripe.StripeError as exc:
            raise _unavailable("stopping Stripe's retries", exc) from None

    # -- the card-update page (card_setup.PlatformCardSetup) ----------------------------------------

    def card_setup(self) -> StripeGateway:
        """The Stripe adapter's card setup with this account's keys: the SetupIntent is this Stripe
        account's, and the card it saves becomes the customer's default for invoices."""
        return self._gateway

    def use_card(self, invoice_ref: str, token: str) -> None:
        """Make the card the open invoice's own: Stripe's retries use the invoice's payment method
        before the subscription's and the customer's default (which ``card_setup().save_card`` set),
        so without this a platform retry would try the old card again."""
        payment_method, _ = _split_token(token)
        try:
            self._client.v1.invoices.update(invoice_ref, {"default_payment_method": payment_method})
        except stripe.InvalidRequestError as exc:
            raise ValueError(f"Stripe would not use the card for invoice {invoice_ref}: {exc.code}") from None
        except stripe.StripeError as exc:
            raise _unavailable("setting the invoice's card", exc) from None


def _unavailable(what: str, exc: stripe.StripeError) -> PlatformUnavailable:
    return PlatformUnavailable(f"Stripe: {what} failed ({type(exc).__name__}, HTTP {exc.http_status})")
