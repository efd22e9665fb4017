"""Braintree subscriptions as Braintree sends them: notifications signed by the ``braintree``
library's own helper (``webhook_testing.sample_notification``) and posted form-encoded, and the
API's answers as XML shaped like the gateway's."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from string import Template
from unittest import mock
from urllib.parse import urlencode

import braintree
import braintree.webhook_testing_gateway

from tests.gateways.stubs import (
    MASTERCARD,
    VISA,
    BraintreeHttp,
    bt_declined_transaction,
    bt_transaction,
)

FIXTURES = Path(__file__).parent / "fixtures" / "braintree"
MERCHANT_ID = "acmecloudfixture"
PUBLIC_KEY = "fixturepublic0001"
PRIVATE_KEY = "fixtureprivate0123456789abcdef01"
CREDENTIALS = {"merchant_id": MERCHANT_ID, "public_key": PUBLIC_KEY, "private_key": PRIVATE_KEY,
               "environment": "sandbox"}
BASE = f"/merchants/{MERCHANT_ID}"
SUBSCRIPTION = "acme-pro-7k2q9d"
CUSTOMER = "84021337"
EMAIL = "jordan.lee@example.com"
OLD_CARD = "bt_card_visa_old1"
NEW_CARD = "bt_card_mc_new02"
MERCHANT_ACCOUNT = "acmecloudUSD"
PLAN = "pro-monthly"
MARCH = ("2026-03-16", "2026-04-15")
APRIL = ("2026-04-16", "2026-05-15")
FEBRUARY = ("2026-02-16", "2026-03-15")
FAILED_AT = datetime(2026, 3, 16, 9, 20, 4, tzinfo=UTC)  # Braintree bills early in the morning

# Transaction ids, as Braintree makes them (8 lower-case letters and digits).
PAID_FEBRUARY = "f3b2p4id"
DECLINED_MARCH = "d3c1m4r1"
RETRIED_MARCH = "r3t2m4r2"
COLLECTED = "c0l3ct3d"


def _template(name: str) -> Template:
    return Template((FIXTURES / name).read_text())


# -- notifications --------------------------------------------------------------------------------


def sample(kind: str, subscription_id: str = SUBSCRIPTION, *, at: datetime = FAILED_AT,
           public_key: str = PUBLIC_KEY, private_key: str = PRIVATE_KEY) -> dict[str, str]:
    """``{"bt_signature", "bt_payload"}`` from the library's helper, signed with those keys and
    stamped ``at`` (the helper stamps the wall clock; its clock is set instead)."""
    gateway = braintree.BraintreeGateway(braintree.Configuration(
        braintree.Environment.Sandbox, MERCHANT_ID, public_key, private_key))

    class Clock(datetime):
        @classmethod
        def utcnow(cls) -> datetime:  # the helper's only use of the clock
            return at.astimezone(UTC).replace(tzinfo=None)

    with mock.patch.object(braintree.webhook_testing_gateway, "datetime", Clock):
        signed = gateway.webhook_testing.sample_notification(kind, subscription_id)
    payload = signed["bt_payload"]
    return {"bt_signature": signed["bt_signature"],
            "bt_payload": payload.decode() if isinstance(payload, bytes) else payload}


def form(fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """The POST Braintree makes: the fields form-encoded."""
    return urlencode(fields).encode(), {"Content-Type": "application/x-www-form-urlencoded",
                                        "User-Agent": "Braintree Webhooks"}


# -- the API's answers -------------------------------------------------------------------------------


def _in_subscription(xml: str, period: tuple[str, str], source: str) -> str:
    """A transaction as a subscription lists it: its subscription, plan and billing period."""
    start, end = period
    return (xml.replace('<subscription-id nil="true"/>', f"<subscription-id>{SUBSCRIPTION}</subscription-id>")
            .replace('<plan-id nil="true"/>', f"<plan-id>{PLAN}</plan-id>")
            .replace('<billing-period-start-date nil="true"/>',
                     f'<billing-period-start-date type="date">{start}</billing-period-start-date>')
            .replace('<billing-period-end-date nil="true"/>',
                     f'<billing-period-end-date type="date">{end}</billing-period-end-date>')
            .replace("<transaction-source>recurring</transaction-source>",
                     f"<transaction-source>{source}</transaction-source>"))


def paid(tx_id: str, created_at: str, period: tuple[str, str] = MARCH, *, card: str = OLD_CARD,
         amount: str = "49.00", source: str = "recurring", **fields: str) -> str:
    return _in_subscription(bt_transaction(
        id=tx_id, amount=amount, created_at=created_at, order_id="", customer_id=CUSTOMER,
        payment_method_token=card, merchant_account_id=MERCHANT_ACCOUNT,
        **(MASTERCARD if card == NEW_CARD else VISA), **fields), period, source)


def declined(tx_id: str, created_at: str, period: tuple[str, str] = MARCH, *, code: str = "2001",
             card: str = OLD_CARD, amount: str = "49.00", source: str = "recurring") -> str:
    text, network, network_text = DECLINES[code]
    return _in_subscription(bt_declined_transaction(
        code, text, network, network_text, id=tx_id, amount=amount, created_at=created_at, order_id="",
        customer_id=CUSTOMER, payment_method_token=card, merchant_account_id=MERCHANT_ACCOUNT,
        **(MASTERCARD if card == NEW_CARD else VISA)), period, source)


DECLINES = {
    "2000": ("Do Not Honor", "05", "Do not honor"),
    "2001": ("Insufficient Funds", "51", "Insufficient funds/over credit limit"),
    "2004": ("Expired Card", "54", "Expired card"),
}


def subscription(*transactions: str, status: str = "Past Due", balance: str = "49.00",
                 period: tuple[str, str] = MARCH, card: str = OLD_CARD, price: str = "49.00",
                 paid_through: str = FEBRUARY[1]) -> str:
    """``subscription.find``'s answer; ``transactions`` newest first, as Braintree lists them."""
    past_due = status == "Past Due"
    return _template("subscription.xml").substitute(
        id=SUBSCRIPTION, status=status, balance=balance, price=price, payment_method_token=card,
        merchant_account_id=MERCHANT_ACCOUNT, plan_id=PLAN, currency="USD",
        billing_period_start_date=period[0], billing_period_end_date=period[1],
        next_billing_date=_next(period), paid_through_date=paid_through,
        next_bill_amount=str(float(balance) + float(price)) if past_due else price,
        current_billing_cycle=4 if period == MARCH else 5, days_past_due=1 if past_due else 0,
        failure_count=sum(1 for t in transactions if "processor_declined" in t) if past_due else 0,
        updated_at=f"{period[0]}T09:20:05Z", transactions="\n".join(transactions),
    )


def _next(period: tuple[str, str]) -> str:
    return {MARCH: APRIL[0], APRIL: "2026-05-16"}.get(period, MARCH[0])


def merchant_account(currency: str = "USD") -> str:
    return _template("merchant_account.xml").substitute(id=MERCHANT_ACCOUNT, currency=currency)


def credit_card(token: str = OLD_CARD) -> str:
    card = MASTERCARD if token == NEW_CARD else VISA
    return _template("credit_card.xml").substitute(token=token, customer_id=CUSTOMER, **card)


def customer() -> str:
    return _template("customer.xml").substitute(id=CUSTOMER, merchant_id=MERCHANT_ID, email=EMAIL,
                                                credit_card=credit_card())


def retry_charge_declined(transaction: str, amount: str = "49.00") -> str:
    """The 422 ``subscription.retry_charge`` answers when the processor declines."""
    return _template("retry_charge_declined.xml").substitute(
        amount=amount, subscription_id=SUBSCRIPTION, message="Insufficient Funds", transaction=transaction)


# -- what processing asks ----------------------------------------------------------------------------


def reads_failure(http: BraintreeHttp, found: str) -> BraintreeHttp:
    """A failure's reads: the subscription, its merchant account, its card and the card's customer."""
    return (http.reply(200, found).reply(200, merchant_account()).reply(200, credit_card())
            .reply(200, customer()))


def march_failure(code: str = "2001") -> str:
    return subscription(declined(DECLINED_MARCH, "2026-03-16T09:20:04Z", code=code),
                        paid(PAID_FEBRUARY, "2026-02-16T09:18:51Z", FEBRUARY))


def march_paid(paying: str = RETRIED_MARCH, *, source: str = "recurring") -> str:
    """The subscription once a retry paid March: active, nothing owed."""
    return subscription(paid(paying, "2026-03-19T09:21:40Z", source=source),
                        declined(DECLINED_MARCH, "2026-03-16T09:20:04Z"),
                        paid(PAID_FEBRUARY, "2026-02-16T09:18:51Z", FEBRUARY),
                        status="Active", balance="0.00", paid_through=MARCH[1])
