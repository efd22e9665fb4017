"""Recurly through the official ``recurly`` library (API v2021-02-25): read what Recurly's thin JSON
webhooks leave out (the transaction, its invoice, the account and its billing info), collect an
invoice on a chosen billing info with ``collect_invoice``, and answer reconciliation from the
invoice's state.

The hand-off is a merchant's setting. Recurly's API has nothing that stops Recurly's own retries
of one invoice and keeps it collectible: ``mark_failed`` closes the invoice for good (``collect``
and ``reopen`` no longer apply to it) and ``mark_successful`` books a payment that never happened.
So ``stop_retries`` calls nothing; the merchant has Recurly's retries switched off before turning
the hand-off on (the connector's ``HAND_OFF_BY_SETTING`` says how), and it is off until they do.

Recurly amounts are decimals in major units; they become the currency's smallest unit exactly, or
the read fails (never rounded). The attempt's idempotency key travels as ``Idempotency-Key``, the
header Recurly's official Go client sends for its ``WithIdempotencyKey`` option; and collecting an
invoice that is already paid cannot take money twice, so a lost answer is settled by reading the
invoice. Every client owns its ``recurly.Client``; the API key is never logged, put in a message or
shown by ``repr``.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import recurly
from recurly import errors

from ..base import ChargeRequest, ChargeResult, credentials_object
from .amounts import minor_units as _minor_units
from .base import (
    CardUpdated,
    Fact,
    Ignored,
    PaymentFailed,
    PaymentSucceeded,
    PlatformUnavailable,
)

# Seconds; http.client applies one timeout to the connection and to every read.
DEFAULT_TIMEOUT = 60.0
REGIONS = ("us", "eu")  # the SDK's API hosts: v3.recurly.com, v3.eu.recurly.com
IDEMPOTENCY_HEADER = "Idempotency-Key"
AUTHENTICATION_REQUIRED = "authentication_required"
_API_KEY = re.compile(r"[A-Za-z0-9_-]{16,128}")
_SUBDOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_LOGIN_TOKEN = re.compile(r"[A-Za-z0-9]{16,64}")
# The answer was lost: socket errors (the SDK raises them as NetworkError) and http.client's own
# protocol errors, which the SDK lets through.
_LOST: tuple[type[Exception], ...] = (recurly.NetworkError, http.client.HTTPException)
# The answer was unreadable: not JSON, or an error body the SDK cannot cast.
_UNREADABLE: tuple[type[Exception], ...] = (ValueError, KeyError, TypeError, AttributeError)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _v(obj: Any, name: str) -> Any:
    """A field of a Recurly resource, or None when the answer left it out."""
    return getattr(obj, name, None) if obj is not None else None


def token_for(billing_info_id: str, account_id: str) -> str:
    """``<billing info id>|<account id>``: the billing info collects, the account is the customer."""
    return f"{billing_info_id}|{account_id}"


def _split_token(token: str) -> tuple[str, str | None]:
    billing_info, _, account = (token or "").partition("|")
    return billing_info.strip(), account.strip() or None


def minor_units(amount: Any, currency: str) -> int:
    """Recurly's decimal amount in major units as the currency's smallest unit, exactly (``amounts``)."""
    return _minor_units(amount, currency, "Recurly")


class RecurlyClient:
    platform = "recurly"
    decline_gateway = "recurly"

    def __init__(self, api_key: str, *, region: str = "us", subdomain: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        if not isinstance(api_key, str) or not _API_KEY.fullmatch(api_key):
            raise ValueError("Recurly needs a private API key (Integrations → API Credentials)")
        if region not in REGIONS:
            raise ValueError("Recurly's region is us or eu")
        if subdomain is not None and not _SUBDOMAIN.fullmatch(subdomain):
            raise ValueError("Recurly's subdomain is the xxx in xxx.recurly.com")
        self.region = region
        self.subdomain = subdomain  # for the hosted account management page only
        self._client = recurly.Client(api_key, timeout=timeout, region=region)

    @classmethod
    def from_credentials(cls, credentials: str | None, **kwargs: Any) -> RecurlyClient:
        """From the decrypted connector credentials: ``{"api_key", "webhook_secret", "subdomain",
        "region"}`` (the webhook secret is not needed here)."""
        data = credentials_object(credentials, "Recurly")
        return cls(data.get("api_key"), region=data.get("region") or "us",
                   subdomain=data.get("subdomain") or None, **kwargs)

    def __repr__(self) -> str:  # never show the key
        return f"<RecurlyClient {self.region}>"

    # -- reading (what the thin webhooks leave out) --------------------------------------------

    def failed_payment(self, transaction_uuid: str) -> Fact:
        """A failed payment's transaction, its invoice (what is still due) and its account (the
        email, and the billing info Recurly collects with)."""
        transaction = self._read("reading the failed transaction", self._client.get_transaction,
                                 f"uuid-{transaction_uuid}")
        invoice_id = _v(_v(transaction, "invoice"), "id")
        account_id = _v(_v(transaction, "account"), "id")
        if not invoice_id:
            return Ignored("the failed transaction is not for an invoice")
        if not account_id:
            raise ValueError(f"Recurly transaction {transaction_uuid} names no account")
        invoice = self._read("reading the transaction's invoice", self._client.get_invoice, invoice_id)
        state = _v(invoice, "state")
        if state in ("failed", "voided") or _v(invoice, "type") == "credit":
            return Ignored(f"the invoice is {state or 'a credit'}: Recurly no longer collects it")
        account = self._read("reading the account", self._client.get_account, account_id)
        billing_info_id = _v(_v(account, "billing_info"), "id")
        if not billing_info_id:
            raise ValueError(f"Recurly account {account_id} has no billing info to retry")
        currency = str(_v(invoice, "currency") or _v(transaction, "currency") or "").upper()
        return PaymentFailed(
            invoice_ref=invoice_id,
            customer_ref=account_id,
            token=token_for(billing_info_id, account_id),
            amount=minor_units(_v(invoice, "balance"), currency),
            currency=currency,
            decline_code=_v(transaction, "status_code"),
            customer_email=_v(account, "email") or _v(_v(transaction, "account"), "email"),
            customer_country=_v(_v(account, "address"), "country"),
        )

    def billing_info_updated(self, account_code: str) -> Fact:
        """The account's billing info after an update (the one Recurly collects with)."""
        account = self._read("reading the account", self._client.get_account, f"code-{account_code}")
        billing_info = _v(account, "billing_info")
        if not _v(billing_info, "id") or not _v(account, "id"):
            return Ignored("the account has no billing info")
        method = _v(billing_info, "payment_method")
        return CardUpdated(
            customer_ref=account.id,
            token=token_for(billing_info.id, account.id),
            brand=_v(method, "card_type"),
            last4=_v(method, "last_four"),
        )

    def succeeded_payment(self, transaction_uuid: str) -> Fact:
        """A successful payment's transaction: the invoice it paid, if any."""
        transaction = self._read("reading the transaction", self._client.get_transaction,
                                 f"uuid-{transaction_uuid}")
        if _v(transaction, "type") not in (None, "purchase", "capture"):
            return Ignored(f"a {transaction.type} transaction is not a payment")
        currency = str(_v(transaction, "currency") or "").upper()
        return PaymentSucceeded(
            invoice_ref=_v(_v(transaction, "invoice"), "id"),
            customer_ref=_v(_v(transaction, "account"), "id"),
            amount=minor_units(_v(transaction, "amount"), currency),
            currency=currency,
            transaction_ref=_v(transaction, "id"),
        )

    def _read(self, what: str, call: Callable[..., Any], *args: Any) -> Any:
        try:
            return call(*args)
        except recurly.ApiError as exc:
            if _status(exc) == 404 or isinstance(exc, errors.NotFoundError):
                raise ValueError(f"Recurly: {what} found nothing ({_said(exc)})") from None
            # Credentials, rate limit, 5xx: may work later (a rotated key, say).
            raise PlatformUnavailable(f"Recurly: {what} failed ({_said(exc)})") from None
        except (*_LOST, *_UNREADABLE) as exc:
            raise PlatformUnavailable(f"Recurly: {what} failed ({type(exc).__name__})") from None

    # -- collecting --------------------------------------------------------------------------------

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Collect the invoice on the token's billing info (``billing_info_id``)."""
        if not request.invoice_ref:
            return ChargeResult("error", decline_code="invalid_request", message="no invoice to collect")
        billing_info, _ = _split_token(request.token)
        try:
            invoice = self._client.collect_invoice(
                request.invoice_ref,
                body={"billing_info_id": billing_info} if billing_info else None,
                headers={IDEMPOTENCY_HEADER: request.idempotency_key},
            )
        except recurly.ApiError as exc:
            if _v(exc.error, "transaction_error") is not None:
                return _declined(exc)
            if _status(exc) == 422:
                # Refused without a transaction, e.g. because the invoice is paid already (an earlier
                # try whose answer was lost): the invoice says whether this attempt's money moved.
                paid = self.lookup(request)
                if paid is not None and paid.approved:
                    return paid
            return _result_from_error(exc)
        except _LOST as exc:
            return ChargeResult("unknown", decline_code="gateway_timeout",
                                message=f"no answer from Recurly ({type(exc).__name__})")
        except _UNREADABLE:
            return ChargeResult("unknown", decline_code="gateway_error", message="unreadable Recurly answer")
        return _result_from_invoice(invoice)

    def lookup(self, request: ChargeRequest) -> ChargeResult | None:
        if not request.invoice_ref:
            return None  # charge() never called Recurly without one
        try:
            invoice = self._client.get_invoice(request.invoice_ref)
        except recurly.ApiError as exc:
            mapped = _result_from_error(exc)
            return ChargeResult("unknown", decline_code=mapped.decline_code, message=mapped.message)
        except (*_LOST, *_UNREADABLE) as exc:
            return ChargeResult("unknown", decline_code="gateway_error",
                                message=f"Recurly could not be read ({type(exc).__name__})")
        if _v(invoice, "state") in ("pending", "past_due"):
            return None  # still due: nothing was collected
        return _result_from_invoice(invoice)

    def stop_retries(self, invoice_ref: str) -> None:
        """Nothing to call: no Recurly API stops its retries of one invoice and leaves it collectible
        (see above). The merchant switches them off in Recurly before turning the hand-off on."""
        return None

    def card_update_page(self, account_id: str) -> str:
        """The account's hosted account management page, where the customer updates their billing
        info: ``https://<subdomain>.recurly.com/account/<hosted_login_token>``, as the SDK documents
        the token. Recurly sends billing_info.updated when the card changes."""
        if not self.subdomain:
            raise ValueError("the Recurly connector has no subdomain")
        account = self._read("reading the account", self._client.get_account, account_id)
        token = _v(account, "hosted_login_token")
        if not isinstance(token, str) or not _LOGIN_TOKEN.fullmatch(token):
            raise ValueError(f"Recurly account {account_id} has no hosted login token")
        return f"https://{self.subdomain}.recurly.com/account/{token}"


# -- results ----------------------------------------------------------------------------------------


def _newest(transactions: Any, status: str | None = None) -> Any | None:
    chosen = [t for t in transactions or [] if status is None or _v(t, "status") == status]
    return max(chosen, key=lambda t: _v(t, "created_at") or _EPOCH) if chosen else None


def _result_from_invoice(invoice: Any) -> ChargeResult:
    state = _v(invoice, "state")
    transactions = _v(invoice, "transactions")
    if state == "paid":
        paying = _newest(transactions, "success")
        return ChargeResult("approved", transaction_id=_v(paying, "id") or _v(invoice, "id"))
    if state == "processing":  # a bank debit on its way: money may still move
        return ChargeResult("unknown", transaction_id=_v(_newest(transactions), "id"),
                            message="invoice processing")
    last = _newest(transactions)
    if state in ("pending", "past_due") and _v(last, "status") == "declined":
        return ChargeResult("declined", transaction_id=_v(last, "id"),
                            decline_code=_v(last, "status_code") or "declined",
                            message=_v(last, "status_message"))
    return ChargeResult("error", decline_code=f"invoice_{state}", message=f"invoice is {state}")


def _status(exc: recurly.ApiError) -> int | None:
    """The HTTP status of an API error. The SDK names error classes after Recurly's error ``type``
    and falls back to a bare ``ApiError`` for a type it does not know, so the class alone is not
    enough; the status is on the error's response (none for an answer that was not JSON, where the
    class comes from the status instead)."""
    try:
        return exc.error.get_response().status
    except AttributeError:
        return None


def _said(exc: recurly.ApiError) -> str:
    """Recurly's error type and the HTTP status, never its message (it may quote the request)."""
    status = _status(exc)
    return f"{_v(exc.error, 'type') or type(exc).__name__}{f', HTTP {status}' if status else ''}"


def _declined(exc: recurly.ApiError) -> ChargeResult:
    """Recurly's 422 for a declined collection: its ``transaction_error`` carries the gateway's
    decline code (``insufficient_funds``), Recurly's own code and the customer message."""
    detail = _v(exc.error, "transaction_error")
    code = _v(detail, "decline_code") or _v(detail, "code") or "declined"
    if _v(detail, "three_d_secure_action_token_id"):
        code = AUTHENTICATION_REQUIRED  # off-session: nobody is there to authenticate
    return ChargeResult(
        "declined",
        transaction_id=_v(detail, "transaction_id"),
        decline_code=code,
        message=_v(detail, "message") or _v(exc.error, "message"),
    )


def _result_from_error(exc: recurly.ApiError) -> ChargeResult:
    status, said = _status(exc), _said(exc)
    if status in (401, 403) or isinstance(exc, errors.UnauthorizedError | errors.ForbiddenError):
        return ChargeResult("error", decline_code="gateway_auth_error",
                            message=f"Recurly refused the API key ({said})")
    if status == 429 or isinstance(exc, errors.TooManyRequestsError):
        return ChargeResult("error", decline_code="rate_limited", message=f"Recurly rate limit ({said})")
    if (status is not None and 400 <= status < 500) or isinstance(exc, errors.ClientError):
        return ChargeResult("error", decline_code="invalid_request",
                            message=f"Recurly refused the request ({said})")
    # 5xx, or a status the SDK has no class for: the collection may or may not have happened.
    return ChargeResult("unknown", decline_code="gateway_error", message=f"Recurly API error ({said})")
