"""Zuora through its REST API with ``requests``: read what a callout leaves out (the declined payment,
the invoice it was for, the account and its default payment method), collect the invoice with a new
electronic payment (``POST /v1/payments`` with the attempt's ``Idempotency-Key``), and answer
reconciliation from the invoice's balance.

Why not the official ``zuora-sdk``: importing it loads its 1,741 generated pydantic models at once
(its package ``__init__`` imports every API and model module); on this machine that is 19 CPU-seconds
and 445 MB of memory per process before the first call, in every worker and every job's fork. The
six endpoints Revtain needs are plain JSON over HTTPS (docs/decisions.md has the figures).

Authentication is Zuora's OAuth 2.0 client credentials (``POST /oauth/token``): a token per client
object, fetched on first use and again when Zuora says it expired. The client id and secret are
never logged, put in a message or shown by ``repr``.

Zuora's own retries are payment runs and its Payment Retry rules, both settings of the merchant's
tenant with no per-invoice API: ``stop_retries`` calls nothing (``connectors.zuora.HAND_OFF_BY_SETTING``
says what to switch off). Zuora has no customer-facing hosted page of its own (Payment Pages 2.0 is
an iframe for the merchant's own site), so the card-update page sends the customer to the merchant's
page that hosts it, when the connector names one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from ..base import ChargeRequest, ChargeResult, credentials_object
from .amounts import major_units, minor_units
from .base import CardUpdated, Fact, Ignored, PaymentFailed, PaymentSucceeded, PlatformUnavailable

# Seconds: connect, then read (an authorisation can take a while at the issuer; a timeout becomes an
# "unknown" outcome that reconciliation settles).
TIMEOUT = (10, 60)
# Zuora's REST hosts (production, sandboxes, data centres) are all under zuora.com; nothing else is
# ever called with the merchant's credentials.
_HOST = re.compile(r"(?:[a-z0-9-]+\.)+zuora\.com")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
OPEN_INVOICE = "Posted"
# The Zuora error code's last two digits say what kind of failure it was (Zuora's REST error codes).
_NOT_FOUND, _AUTH = ("40",), ("10", "11")
_TRY_LATER = ("50", "60", "70")
# Zuora's message for a declined payment: "Transaction declined.402 - [card_error/card_declined/
# insufficient_funds] Your card has insufficient funds." (the gateway's words after the dot).
_BRACKETED = re.compile(r"\[([\w./-]+)\]")
_AFTER_DECLINED = re.compile(r"declined\.\s*([\w.-]+)", re.I)
USER_AGENT = "Revtain (connector; +https://github.com/revtain)"


def clean_base_url(value: Any) -> str:
    """The tenant's REST endpoint, e.g. ``https://rest.zuora.com`` or ``https://rest.apisandbox.zuora.com``
    (``ValueError`` for anything that is not an https Zuora host)."""
    url = str(value or "").strip().rstrip("/")
    parts = urlsplit(url)
    if (
        parts.scheme != "https"
        or not parts.hostname
        or not _HOST.fullmatch(parts.hostname)
        or parts.path not in ("", "/")
        or parts.query
        or parts.port not in (None, 443)
        or parts.username
    ):
        raise ValueError(
            "Zuora's REST endpoint is the https URL of your tenant's API, e.g. https://rest.zuora.com, "
            "https://rest.na.zuora.com, https://rest.eu.zuora.com or https://rest.apisandbox.zuora.com"
        )
    return f"https://{parts.hostname}"


def clean_https_url(value: Any) -> str:
    """A page of the merchant's own where customers update their card (https, no credentials)."""
    url = str(value or "").strip()
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.username or any(c.isspace() for c in url):
        raise ValueError("the card update page must be an https URL of your site")
    return url


class ZuoraClient:
    platform = "zuora"
    decline_gateway = "zuora"

    def __init__(
        self,
        base_url: Any,
        client_id: Any,
        client_secret: Any,
        *,
        card_update_url: str | None = None,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        self.base_url = clean_base_url(base_url)
        for value, name in ((client_id, "client ID"), (client_secret, "client secret")):
            if not isinstance(value, str) or not 8 <= len(value) <= 200 or any(c.isspace() for c in value):
                raise ValueError(
                    f"Zuora needs the OAuth {name} of an API user (Settings → Administration → "
                    "Manage Users → OAuth Clients)"
                )
        self._client_id, self._client_secret = client_id, client_secret
        self.card_update_url = clean_https_url(card_update_url) if card_update_url else None
        self._session = session or requests.Session()
        self._timeout = timeout
        self._token: str | None = None

    @classmethod
    def from_credentials(cls, credentials: str | Mapping[str, Any] | None, **kwargs: Any) -> ZuoraClient:
        """From the decrypted connector credentials: ``{"base_url", "client_id", "client_secret", …}``."""
        data = credentials_object(credentials, "Zuora")
        return cls(
            data.get("base_url"),
            data.get("client_id"),
            data.get("client_secret"),
            card_update_url=data.get("card_update_url") or None,
            **kwargs,
        )

    @property
    def offers_card_update_page(self) -> bool:
        return self.card_update_url is not None

    def __repr__(self) -> str:  # never show the credentials
        return f"<ZuoraClient {self.base_url}>"

    # -- HTTP ---------------------------------------------------------------------------------------

    def _authorize(self) -> str:
        if self._token is None:
            try:
                answer = self._session.post(
                    f"{self.base_url}/oauth/token",
                    data={
                        "client_id": self._client_id,
                        "client_secret": self._client_secret,
                        "grant_type": "client_credentials",
                    },
                    headers={"Accept": "application/json", "User-Agent": USER_AGENT},
                    timeout=self._timeout,
                )
            except requests.RequestException as exc:
                raise PlatformUnavailable(f"Zuora: signing in failed ({type(exc).__name__})") from None
            token = _json(answer).get("access_token")
            if answer.status_code != 200 or not isinstance(token, str) or not token:
                # A wrong or revoked client may be fixed by the merchant: worth trying again later.
                raise PlatformUnavailable(f"Zuora: signing in failed (HTTP {answer.status_code})")
            self._token = token
        return self._token

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> requests.Response:
        """One API call; raises ``requests.RequestException`` when no answer came. A token Zuora
        says is expired is fetched again once."""
        for attempt in (1, 2):
            headers = {
                "Authorization": f"Bearer {self._authorize()}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
            if idempotency_key:
                headers["Idempotency-Key"] = idempotency_key[:255]
            answer = self._session.request(
                method, f"{self.base_url}{path}", json=body, headers=headers, timeout=self._timeout
            )
            if answer.status_code == 401 and attempt == 1:
                self._token = None
                continue
            return answer
        return answer

    def _read(self, what: str, path: str) -> dict:
        """A GET: the JSON body; ``PlatformUnavailable`` when Zuora cannot answer now, ``ValueError``
        when it answers that the thing does not exist or cannot be read."""
        try:
            answer = self._call("GET", path)
        except requests.RequestException as exc:
            raise PlatformUnavailable(f"Zuora: {what} failed ({type(exc).__name__})") from None
        body = _json(answer)
        status = answer.status_code
        if status == 404 or _reason_kind(body) in _NOT_FOUND:
            raise ValueError(f"Zuora: {what} found nothing ({_said(answer, body)})")
        if status in (401, 403, 429) or status >= 500 or _reason_kind(body) in (*_AUTH, *_TRY_LATER):
            raise PlatformUnavailable(f"Zuora: {what} failed ({_said(answer, body)})")
        if status != 200 or body.get("success") is False or not body:
            raise ValueError(f"Zuora: {what} was refused ({_said(answer, body)})")
        return body

    # -- reading (what a callout leaves out) -------------------------------------------------------

    def payment(self, payment_id: str) -> dict:
        return self._read("reading the payment", f"/v1/payments/{_path(payment_id)}")

    def invoice(self, invoice_id: str) -> dict:
        return self._read("reading the invoice", f"/v1/invoices/{_path(invoice_id)}")

    def account(self, account_id: str) -> dict:
        return self._read("reading the account", f"/v1/accounts/{_path(account_id)}")

    def payment_method(self, payment_method_id: str) -> dict:
        return self._read("reading the payment method", f"/v1/payment-methods/{_path(payment_method_id)}")

    def _invoice_of(self, payment: Mapping[str, Any]) -> str | None:
        """The invoice a payment was for: its first invoice part (Invoice Settlement)."""
        parts = self._read("reading the payment's parts", f"/v1/payments/{_path(payment['id'])}/parts")
        for part in parts.get("parts") or []:
            if isinstance(part, dict) and _str(part.get("invoiceId")):
                return part["invoiceId"]
        return None

    def failed_payment(self, payment_id: str) -> Fact:
        """A declined payment: the invoice it was for and what is still due on it, the gateway's
        decline, and the account's default payment method *now* (Zuora collects with it; a card the
        customer changed since the decline is the one charged)."""
        payment = self.payment(payment_id)
        if payment.get("status") not in ("Error", "Canceled"):
            return Ignored(f"the payment is {payment.get('status') or 'unknown'}, not declined")
        account_id = _str(payment.get("accountId"))
        if not account_id:
            raise ValueError(f"Zuora payment {payment_id} names no account")
        invoice_id = self._invoice_of(payment)
        if not invoice_id:
            return Ignored("the declined payment was for no invoice")
        invoice = self.invoice(invoice_id)
        if invoice.get("status") != OPEN_INVOICE:
            return Ignored(
                f"the invoice is {invoice.get('status') or 'unknown'}: Zuora no longer collects it"
            )
        currency = str(invoice.get("currency") or payment.get("currency") or "").upper()
        amount = minor_units(invoice.get("balance"), currency, "Zuora")  # before any further call
        account = self.account(account_id)
        billing = _obj(account, "billingAndPayment")
        method = (
            _str(billing.get("defaultPaymentMethodId"))
            or _str(_obj(account, "basicInfo").get("defaultPaymentMethodId"))
            or _str(payment.get("paymentMethodId"))
        )
        if not method:
            raise ValueError(f"Zuora account {account_id} has no payment method to retry")
        contact = _obj(account, "billToContact")
        return PaymentFailed(
            invoice_ref=invoice_id,
            customer_ref=account_id,
            token=token_for(method, account_id),
            amount=amount,
            currency=currency or str(billing.get("currency") or "").upper(),
            decline_code=_decline_code(payment),
            customer_email=_str(contact.get("workEmail")) or _str(contact.get("personalEmail")),
            customer_country=_str(contact.get("country")),  # an ISO code, or a name (then unused)
        )

    def succeeded_payment(self, payment_id: str) -> Fact:
        """A processed payment and the invoice it paid, if any."""
        payment = self.payment(payment_id)
        if payment.get("status") != "Processed":
            return Ignored(f"the payment is {payment.get('status') or 'unknown'}, not processed")
        currency = str(payment.get("currency") or "").upper()
        return PaymentSucceeded(
            invoice_ref=self._invoice_of(payment),
            customer_ref=_str(payment.get("accountId")),
            amount=minor_units(payment.get("amount"), currency, "Zuora"),
            currency=currency,
            transaction_ref=_str(payment.get("id")),
        )

    def card_updated(self, account_id: str) -> Fact:
        """The account's default payment method after a change (the one Zuora collects with)."""
        account = self.account(account_id)
        method_id = _str(_obj(account, "billingAndPayment").get("defaultPaymentMethodId")) or _str(
            _obj(account, "basicInfo").get("defaultPaymentMethodId")
        )
        if not method_id:
            return Ignored("the account has no default payment method")
        method = self.payment_method(method_id)
        if method.get("status") not in (None, "Active"):
            return Ignored(f"the payment method is {method.get('status')}")
        number = _str(method.get("cardNumber")) or _str(method.get("creditCardMaskNumber")) or ""
        last4 = number[-4:] if number[-4:].isdigit() else None
        brand = _str(method.get("cardType")) or _str(method.get("creditCardType"))
        return CardUpdated(account_id, token_for(method_id, account_id), brand, last4)

    # -- collecting ---------------------------------------------------------------------------------

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """A new electronic payment on the account, with the token's payment method, applied to the
        invoice. Zuora answers a declined payment with ``success: false`` and the gateway's reason."""
        if not request.invoice_ref:
            return ChargeResult("error", decline_code="invalid_request", message="no invoice to collect")
        if not request.token or request.amount <= 0:
            return ChargeResult(
                "error", decline_code="invalid_request", message="no payment method or amount"
            )
        payment_method, account = split_token(request.token)
        if not account:
            return ChargeResult("error", decline_code="invalid_request", message="the token names no account")
        amount = float(major_units(request.amount, request.currency))
        body = {
            "accountId": account,
            "amount": amount,
            "currency": request.currency,
            "effectiveDate": datetime.now(UTC).date().isoformat(),
            "paymentMethodId": payment_method,
            "type": "Electronic",
            "invoices": [{"invoiceId": request.invoice_ref, "amount": amount}],
            "comment": "Revtain recovery",
        }
        try:
            answer = self._call("POST", "/v1/payments", body, idempotency_key=request.idempotency_key)
        except PlatformUnavailable as exc:
            return ChargeResult("error", decline_code="gateway_auth_error", message=str(exc))
        except requests.RequestException as exc:
            return ChargeResult(
                "unknown",
                decline_code="gateway_timeout",
                message=f"no answer from Zuora ({type(exc).__name__})",
            )
        return _result_from_answer(answer)

    def lookup(self, request: ChargeRequest) -> ChargeResult | None:
        """From the invoice: nothing left to pay (approved), still due (``None``: nothing was
        collected), or Zuora unreadable (``unknown``)."""
        if not request.invoice_ref:
            return None
        try:
            invoice = self.invoice(request.invoice_ref)
        except (PlatformUnavailable, ValueError) as exc:
            return ChargeResult("unknown", decline_code="gateway_error", message=str(exc)[:200])
        try:
            balance = minor_units(
                invoice.get("balance"), str(invoice.get("currency") or request.currency), "Zuora"
            )
        except ValueError as exc:
            return ChargeResult("unknown", decline_code="gateway_error", message=str(exc))
        if balance <= 0:
            return ChargeResult("approved", transaction_id=_str(invoice.get("id")) or request.invoice_ref)
        if invoice.get("status") != OPEN_INVOICE:
            status = invoice.get("status") or "unknown"
            return ChargeResult(
                "error", decline_code=f"invoice_{str(status).lower()}", message=f"invoice is {status}"
            )
        return None

    def stop_retries(self, invoice_ref: str) -> None:
        """Nothing to call: Zuora's retries are payment runs and Payment Retry rules of the tenant, with
        no per-invoice API; the merchant switches them off first (see above)."""
        return None

    def card_update_page(self, account_id: str) -> str:
        """The merchant's page hosting Zuora's payment form, when the connector names one (Zuora has
        no customer-facing page of its own); its Payment Method callout then brings the card back."""
        if not self.card_update_url:
            raise ValueError("the Zuora connector names no card update page")
        return self.card_update_url


# -- answers ---------------------------------------------------------------------------------------


def _json(answer: requests.Response) -> dict:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _reasons(body: Mapping[str, Any]) -> list[dict]:
    return [r for r in body.get("reasons") or [] if isinstance(r, dict)]


def _reason_kind(body: Mapping[str, Any]) -> str | None:
    """The category of Zuora's first error code (its last two digits), if the body has one."""
    for reason in _reasons(body):
        code = str(reason.get("code") or "")
        if code.isdigit() and len(code) >= 2:
            return code[-2:]
    return None


def _said(answer: requests.Response, body: Mapping[str, Any]) -> str:
    """Zuora's error code and the HTTP status, never its message (it may quote the request)."""
    codes = ",".join(str(r.get("code")) for r in _reasons(body) if r.get("code") is not None)
    return f"{codes + ', ' if codes else ''}HTTP {answer.status_code}"


def _decline_code(payment: Mapping[str, Any]) -> str | None:
    """The gateway's code for the decline (Stripe's insufficient_funds, Braintree's 2001), else the
    card network's response code."""
    return _str(payment.get("gatewayResponseCode")) or _str(payment.get("networkResponseCode"))


def _result_from_answer(answer: requests.Response) -> ChargeResult:
    body = _json(answer)
    status = answer.status_code
    if status == 200 and body.get("success") is not False and body.get("status") == "Processed":
        return ChargeResult("approved", transaction_id=_str(body.get("id")))
    if status == 200 and body.get("status") in ("Processing", "Draft"):
        return ChargeResult("unknown", transaction_id=_str(body.get("id")), message="payment processing")
    if status == 200 and body.get("status") == "Error":  # the payment, declined
        return ChargeResult(
            "declined",
            transaction_id=_str(body.get("id")),
            decline_code=_decline_code(body) or "declined",
            network_code=_str(body.get("networkResponseCode")),
            advice_code=_str(body.get("merchantAdviceCode")),
            message=_str(body.get("gatewayResponse")),
        )
    kind = _reason_kind(body)
    said = _said(answer, body)
    if status in (401, 403) or kind in _AUTH:
        return ChargeResult(
            "error", decline_code="gateway_auth_error", message=f"Zuora refused the client ({said})"
        )
    if status == 429 or kind == "70":
        return ChargeResult("error", decline_code="rate_limited", message=f"Zuora rate limit ({said})")
    if status >= 500 or kind in ("50", "60") or not body:
        # The payment may have been created: the same Idempotency-Key gets its answer, and
        # reconciliation reads the invoice.
        return ChargeResult("unknown", decline_code="gateway_error", message=f"Zuora API error ({said})")
    for reason in _reasons(body):
        text = str(reason.get("message") or "")
        if "declined" in text.lower():
            return ChargeResult(
                "declined", decline_code=_gateway_code(text) or "declined", message=text[:200]
            )
    return ChargeResult(
        "error", decline_code="invalid_request", message=f"Zuora refused the payment ({said})"
    )


def _gateway_code(text: str) -> str | None:
    """The most specific code in Zuora's decline message: ``[card_error/card_declined/
    insufficient_funds]`` → insufficient_funds; ``Transaction declined.2001 - Insufficient Funds`` →
    2001."""
    bracketed = _BRACKETED.search(text)
    if bracketed:
        return bracketed.group(1).split("/")[-1] or None
    after = _AFTER_DECLINED.search(text)
    return after.group(1) if after else None


def token_for(payment_method_id: str, account_id: str) -> str:
    """``<payment method id>|<account id>``: the payment method collects, the account is the customer."""
    return f"{payment_method_id}|{account_id}"


def split_token(token: str) -> tuple[str, str | None]:
    payment_method, _, account = (token or "").partition("|")
    return payment_method.strip(), account.strip() or None


def _path(value: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError(f"not a Zuora id: {str(value)[:40]!r}")
    return quote(value, safe="")


def _obj(data: Mapping[str, Any], name: str) -> dict:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
