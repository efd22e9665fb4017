"""Chargebee through the official ``chargebee`` library (3.x): read what a webhook lacks (the
invoice, the customer, a payment source), collect an invoice with ``collect_payment``, and stop
Chargebee's dunning of an invoice on hand-off.

The hand-off uses ``stop_dunning``, not ``pause_dunning``: a paused invoice is collected again by
Chargebee on its ``expected_payment_date`` (and runs the dunning's final action when that date is
past the dunning period), so both would retry the card. A stopped invoice turns ``not_paid``,
which ``collect_payment`` still accepts, and Chargebee neither retries it nor emails about it.

Every client owns its ``chargebee.Chargebee`` (never a global configuration), with the library's
own retries off: Revtain's scheduler decides when to try again. Messages carry Chargebee's codes
and statuses only, never the API key (nor the library's own error texts, which can quote bodies).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import chargebee
import httpx
from chargebee import Chargebee
from chargebee.environment import Environment
from chargebee.retry_config import RetryConfig

from ..base import ChargeRequest, ChargeResult, credentials_object
from .base import CardUpdated, Ignored, PaymentFailed, PaymentSucceeded, PlatformUnavailable

# Seconds, as the stripe and braintree adapters: an authorisation can take a while at the issuer,
# and every timeout becomes an "unknown" outcome that needs reconciliation.
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60
IDEMPOTENCY_HEADER = Chargebee.idempotency_header  # "chargebee-idempotency-key"
OPEN = frozenset(["payment_due", "not_paid", "posted"])  # invoices collect_payment accepts
CLOCK_SKEW = 600  # seconds between Chargebee's clock and ours that _declined tolerates
USABLE_SOURCES = frozenset(["valid", "expiring"])
# Payment errors that mean the gateway tried the card and it was refused.
DECLINES = frozenset(["payment_processing_failed", "payment_method_verification_failed"])
HAND_OFF_COMMENT = "Revtain recovers this invoice: Chargebee's retries and dunning emails are stopped."
# The "acme" of acme.chargebee.com (test sites end in -test).
_SITE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_API_KEY = re.compile(r"[A-Za-z0-9_\-]{8,200}")

T = TypeVar("T")
log = logging.getLogger(__name__)


def clean_site(value: Any) -> str:
    """The site name, also from a pasted ``https://acme.chargebee.com`` (``ValueError`` otherwise)."""
    site = str(value or "").strip().lower().removeprefix("https://").removeprefix("http://")
    site = site.rstrip("/").removesuffix(".chargebee.com")
    if not _SITE.fullmatch(site):
        raise ValueError("Chargebee's site is the name before .chargebee.com (letters, digits and -)")
    return site


def deserialize_event(text: str) -> Any:
    """A webhook body as the library reads it (``Event.deserialize``: API version v2 only). The
    caller has checked that ``text`` is a JSON object; anything else raises."""
    return chargebee.Event(Environment({"api_key": "", "site": ""})).deserialize(text)


class ChargebeeClient:
    platform = "chargebee"
    decline_gateway = "chargebee"

    def __init__(self, site: Any, api_key: Any, *, connect_timeout: int = CONNECT_TIMEOUT,
                 read_timeout: int = READ_TIMEOUT) -> None:
        self.site = clean_site(site)
        if not isinstance(api_key, str) or not _API_KEY.fullmatch(api_key):
            raise ValueError("Chargebee needs a full-access API key "
                             "(Settings → Configure Chargebee → API Keys)")
        self._cb = Chargebee(api_key=api_key, site=self.site, connection_time_out=connect_timeout,
                             read_time_out=read_timeout)
        self._cb.update_retry_config(RetryConfig(enabled=False))

    @classmethod
    def from_credentials(cls, credentials: str | None, **kwargs: Any) -> ChargebeeClient:
        """From the decrypted connector credentials: ``{"site": "acme", "api_key": "live_…", …}``."""
        data = credentials_object(credentials, "Chargebee")
        return cls(data.get("site"), data.get("api_key"), **kwargs)

    def __repr__(self) -> str:  # never show the key
        return f"<ChargebeeClient {self.site}>"

    # -- reading ----------------------------------------------------------------------------------

    def invoice(self, invoice_id: str) -> dict:
        return self._read("reading the invoice",
                          lambda: self._cb.Invoice.retrieve(invoice_id).invoice.raw_data)

    def customer(self, customer_id: str) -> dict:
        return self._read("reading the customer",
                          lambda: self._cb.Customer.retrieve(customer_id).customer.raw_data)

    def payment_source(self, source_id: str) -> dict:
        return self._read("reading the payment source",
                          lambda: self._cb.PaymentSource.retrieve(source_id).payment_source.raw_data)

    def failed_payment(self, content: Mapping[str, Any]) -> PaymentFailed | Ignored:
        """A ``payment_failed`` event's content: the invoice (``content.invoice``, else the one the
        transaction is linked to, read from Chargebee), the payment source the transaction used
        (else the customer's primary one) and the customer's email (the customer read from
        Chargebee when the content has none)."""
        txn, invoice = _obj(content, "transaction"), _obj(content, "invoice")
        customer = _obj(content, "customer")
        invoice_id = _str(invoice.get("id")) or _linked_invoice(txn)
        if not invoice_id:
            return Ignored("the failed payment is not for an invoice")
        if _str(invoice.get("id")) != invoice_id:
            invoice = self.invoice(invoice_id)
        customer_id = (_str(txn.get("customer_id")) or _str(invoice.get("customer_id"))
                       or _str(customer.get("id")))
        if not customer and customer_id:
            customer = self.customer(customer_id)
        token = _str(txn.get("payment_source_id")) or _str(customer.get("primary_payment_source_id"))
        if not token:
            raise ValueError(f"invoice {invoice_id} has no payment source to retry")
        return PaymentFailed(
            invoice_ref=invoice_id,
            customer_ref=customer_id,
            token=token,
            amount=_int(invoice.get("amount_due")),
            currency=str(invoice.get("currency_code") or txn.get("currency_code") or "").upper(),
            decline_code=_decline_code(txn),
            customer_email=_str(customer.get("email")),
            customer_country=_str(_obj(customer, "billing_address").get("country")),
        )

    def card_updated(self, content: Mapping[str, Any]) -> CardUpdated | Ignored:
        """A ``payment_source_updated`` / ``_added`` event's content: its payment source, or the
        customer's primary one (read from Chargebee) when the content carries only the customer."""
        source, customer = _obj(content, "payment_source"), _obj(content, "customer")
        customer_id = _str(source.get("customer_id")) or _str(customer.get("id"))
        if not customer_id:
            return Ignored("the payment source belongs to no customer")
        if not _str(source.get("id")):
            primary = _str(customer.get("primary_payment_source_id"))
            if not primary:
                return Ignored("the customer has no payment source")
            source = self.payment_source(primary)
        status = source.get("status")
        if source.get("deleted") or (status is not None and status not in USABLE_SOURCES):
            return Ignored(f"the payment source is {status or 'deleted'}")
        card = source.get("card") if isinstance(source.get("card"), dict) else {}
        return CardUpdated(customer_id, str(source["id"]), _str(card.get("brand")), _str(card.get("last4")))

    def succeeded_payment(self, content: Mapping[str, Any]) -> PaymentSucceeded | Ignored:
        """A ``payment_succeeded`` event's content: the transaction and the invoice it paid."""
        txn, invoice = _obj(content, "transaction"), _obj(content, "invoice")
        invoice_id = _str(invoice.get("id")) or _linked_invoice(txn)
        if not _str(txn.get("id")) and not invoice_id:
            return Ignored("the payment names no transaction or invoice")
        amount = _int(txn.get("amount")) or _int(invoice.get("amount_paid"))
        return PaymentSucceeded(
            invoice_ref=invoice_id,
            customer_ref=_str(txn.get("customer_id")) or _str(invoice.get("customer_id")),
            amount=amount,
            currency=str(txn.get("currency_code") or invoice.get("currency_code") or "USD").upper(),
            transaction_ref=_str(txn.get("id")),
        )

    # -- collecting -------------------------------------------------------------------------------

    def charge(self, request: ChargeRequest) -> ChargeResult:
        if not request.invoice_ref:
            return ChargeResult("error", decline_code="invalid_request", message="no invoice to collect")
        if not request.token or request.amount <= 0:
            return ChargeResult("error", decline_code="invalid_request",
                                message="no payment source or amount")
        started = int(time.time())
        try:
            answer = self._cb.Invoice.collect_payment(
                request.invoice_ref,
                {"payment_source_id": request.token, "amount": request.amount,
                 "payment_initiator": "merchant"},
                {IDEMPOTENCY_HEADER: request.idempotency_key},
            )
        except chargebee.PaymentError as exc:
            if exc.api_error_code in DECLINES:
                return self._declined(request, exc, started)
            return _result_from_error(exc)
        except Exception as exc:  # the library raises bare Exception for answers that are not its JSON
            return _result_from_error(exc)
        return _result_from_collection(_raw(answer.invoice), _raw(getattr(answer, "transaction", None)))

    def _declined(self, request: ChargeRequest, exc: chargebee.APIError, started: int) -> ChargeResult:
        """The error names Chargebee's reason only; the failed transaction (the invoice's newest
        payment) has the gateway's decline, network and advice codes. It counts only if it is this
        attempt's: a failure with this payment source, made since the request was sent (give or
        take ``CLOCK_SKEW`` seconds), not the failure that started the recovery."""
        try:
            page = self._cb.Transaction.payments_for_invoice(request.invoice_ref, {"limit": 1})
            txn = page.list[0].transaction.raw_data if page.list else {}
        except Exception:  # the decline stands without the details
            txn = {}
        if (
            txn.get("status") == "failure"
            and txn.get("payment_source_id") in (None, request.token)
            and _int(txn.get("date")) >= started - CLOCK_SKEW
        ):
            return _decline(txn)
        return ChargeResult("declined", decline_code=exc.api_error_code, message=_error_text(exc))

    def lookup(self, request: ChargeRequest) -> ChargeResult | None:
        """From the invoice: paid (the paying transaction), still open (``None``: nothing was
        collected), a payment still in progress or Chargebee unreadable (``unknown``)."""
        try:
            invoice = self._cb.Invoice.retrieve(request.invoice_ref or "").invoice.raw_data
        except Exception as exc:
            mapped = _result_from_error(exc)
            return ChargeResult("unknown", decline_code=mapped.decline_code, message=mapped.message)
        status = invoice.get("status")
        payments = [p for p in invoice.get("linked_payments") or [] if isinstance(p, dict)]
        if status == "paid":
            paid = [p for p in payments if p.get("txn_status") == "success"]
            newest = max(paid, key=lambda p: _int(p.get("txn_date")), default={})
            return ChargeResult("approved", transaction_id=_str(newest.get("txn_id")) or invoice.get("id"))
        if status in OPEN:
            if any(p.get("txn_status") == "in_progress" for p in payments):
                return ChargeResult("unknown", message="a payment of the invoice is in progress")
            return None
        return ChargeResult("error", decline_code=f"invoice_{status}", message=f"invoice is {status}")

    def stop_retries(self, invoice_ref: str) -> None:
        """Stop Chargebee's dunning of the invoice. An invoice Chargebee is not dunning (its dunning
        is over, or it is not due) has no retries to stop: Chargebee refuses, and that is fine."""
        try:
            self._cb.Invoice.stop_dunning(invoice_ref, {"comment": HAND_OFF_COMMENT})
        except chargebee.APIError as exc:
            if _retryable(exc):
                raise _unavailable("stopping Chargebee's dunning", exc) from None
            log.info("Chargebee did not stop dunning of invoice %s: %s", invoice_ref, _error_text(exc))
        except Exception as exc:
            raise _unavailable("stopping Chargebee's dunning", exc) from None

    def card_update_page(self, customer_id: str) -> str:
        """The URL of Chargebee's hosted page where the customer adds or replaces a payment source
        (``HostedPage.manage_payment_sources``), for the card-update page to redirect to. Chargebee
        sends payment_source_updated / _added when the card changes, as for any other update."""
        hosted = self._cb.HostedPage
        page = self._read("opening the payment sources page", lambda: hosted.manage_payment_sources(
            {"customer": {"id": customer_id}}).hosted_page)
        return _https(getattr(page, "url", None))

    def _read(self, what: str, call: Callable[[], T]) -> T:
        """A read: ``PlatformUnavailable`` when Chargebee cannot answer now, ``ValueError`` when it
        answers that the thing does not exist or cannot be read (trying again would not help)."""
        try:
            return call()
        except chargebee.APIError as exc:
            if _retryable(exc):
                raise _unavailable(what, exc) from None
            detail = f"{exc.api_error_code}, HTTP {_status(exc)}"
            raise ValueError(f"Chargebee: {what} failed ({detail})") from None
        except Exception as exc:
            raise _unavailable(what, exc) from None


# -- webhook content ------------------------------------------------------------------------------


def _obj(content: Mapping[str, Any], name: str) -> dict:
    value = content.get(name)
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _raw(model: Any) -> dict:
    raw = getattr(model, "raw_data", None) if model is not None else None
    return raw if isinstance(raw, dict) else {}


def _linked_invoice(txn: Mapping[str, Any]) -> str | None:
    for link in txn.get("linked_invoices") or []:
        if isinstance(link, dict) and _str(link.get("invoice_id")):
            return link["invoice_id"]
    return None


def _error_detail(txn: Mapping[str, Any]) -> dict:
    return _obj(txn, "error_detail")


def _decline_code(txn: Mapping[str, Any]) -> str | None:
    """The gateway's own decline code when Chargebee passes it on (``error_detail.decline_code``,
    e.g. Stripe's insufficient_funds), else the transaction's ``error_code``."""
    return _str(_error_detail(txn).get("decline_code")) or _str(txn.get("error_code"))


# -- results --------------------------------------------------------------------------------------


def _decline(txn: Mapping[str, Any]) -> ChargeResult:
    detail = _error_detail(txn)
    return ChargeResult(
        "declined",
        transaction_id=_str(txn.get("id")),
        decline_code=_decline_code(txn) or "payment_processing_failed",
        advice_code=_str(detail.get("processor_advice_code")),
        network_code=_str(detail.get("network_error_code")),
        message=_str(txn.get("error_text")),
    )


def _result_from_collection(invoice: Mapping[str, Any], txn: Mapping[str, Any]) -> ChargeResult:
    status = txn.get("status")
    if status == "success":
        return ChargeResult("approved", transaction_id=_str(txn.get("id")))
    if status == "failure":
        return _decline(txn)
    if status in ("in_progress", "timeout", "needs_attention"):
        # Money may still move (direct debit) or the gateway's answer was lost: reconcile later.
        return ChargeResult("unknown", transaction_id=_str(txn.get("id")), message=f"transaction {status}")
    if not txn and invoice.get("status") == "paid":
        return ChargeResult("approved", transaction_id=_str(invoice.get("id")))
    return ChargeResult("error", transaction_id=_str(txn.get("id")), decline_code="payment_not_attempted",
                        message=f"transaction {status or 'missing'}, invoice {invoice.get('status')}")


def _status(exc: Exception) -> int:
    status = getattr(exc, "http_status_code", None)
    return status if isinstance(status, int) else 0


def _retryable(exc: chargebee.APIError) -> bool:
    """Worth asking again later: the key was refused (it may be fixed), rate limited, or 5xx."""
    status = _status(exc)
    return status in (401, 403, 429) or status >= 500


def _error_text(exc: chargebee.APIError) -> str:
    return f"Chargebee {exc.type or 'error'}: {exc.api_error_code or 'unknown'} (HTTP {_status(exc)})"


def _result_from_error(exc: Exception) -> ChargeResult:
    if isinstance(exc, chargebee.APIError):
        status, code = _status(exc), exc.api_error_code
        if status in (401, 403):
            return ChargeResult("error", decline_code="gateway_auth_error", message=_error_text(exc))
        if status == 429:
            return ChargeResult("error", decline_code="rate_limited", message=_error_text(exc))
        if status >= 500:
            # The request may have been carried out: the same idempotency key gets its answer.
            return ChargeResult("unknown", decline_code="gateway_error", message=_error_text(exc))
        if isinstance(exc, chargebee.PaymentError):
            return ChargeResult("error", decline_code=code or "payment_error", message=_error_text(exc))
        return ChargeResult("error", decline_code="invalid_request", message=_error_text(exc))
    if isinstance(exc, httpx.HTTPError):
        return ChargeResult("unknown", decline_code="gateway_timeout",
                            message=f"no answer from Chargebee ({type(exc).__name__})")
    # An answer that is not Chargebee's JSON (a proxy's 502 page, a truncated body).
    return ChargeResult("unknown", decline_code="gateway_error", message="unreadable answer from Chargebee")


def _https(url: Any) -> str:
    """A hosted page's URL as Chargebee gave it (its own or the site's custom domain), if https."""
    if not isinstance(url, str) or not url.startswith("https://") or any(c.isspace() for c in url):
        raise ValueError("Chargebee answered without an https hosted page URL")
    return url


def _unavailable(what: str, exc: Exception) -> PlatformUnavailable:
    if isinstance(exc, chargebee.APIError):
        detail = f"{exc.api_error_code}, HTTP {_status(exc)}"
    elif isinstance(exc, httpx.HTTPError):
        detail = type(exc).__name__
    else:
        detail = "unreadable answer"
    return PlatformUnavailable(f"Chargebee: {what} failed ({detail})")
