"""Rendering the templates marketing edits: a sandboxed, immutable Jinja environment with strict
undefined variables, autoescaped HTML and bounded work (``sandbox``), the variables a template may
use, and the defaults a new client starts from.

A template that does not render (a syntax error, an unknown variable, a reach for Python internals,
too much work or text) raises ``TemplateError`` with a message a person can act on; it is never
saved, published or sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError as JinjaError
from jinja2 import TemplateSyntaxError
from jinja2.exceptions import SecurityError, UndefinedError

from ..engine.declines import classify
from ..formatting import money, money_with_code
from .sandbox import Renderer, RenderLimit

MAX_TEMPLATE_CHARS = 100_000
MAX_SUBJECT_CHARS = 200

VARIABLES = {
    "customer_email": "the customer's email address",
    "amount": 'the amount due, formatted for its currency ("$49.00", "¥5,000")',
    "currency": 'the currency code ("USD")',
    "amount_with_currency": 'the amount and its currency code ("$49.00 USD")',
    "merchant_name": "your brand name",
    "card_update_link": "the customer's single-use link to update their card",
    "decline_reason": "why the payment failed, in plain words for the customer",
}

class TemplateError(ValueError):
    """A template that cannot be rendered; ``str()`` says which part, where and why."""

    def __init__(self, part: str, message: str, line: int | None = None) -> None:
        self.part = part
        self.line = line
        self.reason = message
        where = f"{part}, line {line}" if line else part
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


def _render_part(part: str, source: str, variables: dict[str, Any], *, html: bool, renderer: Renderer) -> str:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateError(part, f"the template is longer than {MAX_TEMPLATE_CHARS} characters")
    try:
        return renderer.render(html, source, variables)
    except RenderLimit as exc:
        raise TemplateError(part, str(exc)) from None
    except TemplateSyntaxError as exc:
        raise TemplateError(part, f"syntax error: {exc.message}", exc.lineno) from None
    except SecurityError as exc:
        raise TemplateError(part, f"not allowed: {exc}") from None
    except UndefinedError as exc:
        raise TemplateError(
            part, f"{exc} (available variables: {', '.join(VARIABLES)})"
        ) from None
    except JinjaError as exc:
        raise TemplateError(part, str(exc) or type(exc).__name__) from None
    except Exception as exc:  # anything a template expression can raise (ZeroDivisionError, …)
        raise TemplateError(part, f"{type(exc).__name__}: {exc}") from None


def render(subject: str, html: str, text: str, variables: dict[str, Any]) -> Rendered:
    """Render all three parts within one budget (``sandbox``), or raise ``TemplateError`` for the
    first that fails. Previews, saves, test sends and real sends all render through here."""
    renderer = Renderer()
    rendered_subject = " ".join(
        _render_part("subject", subject, variables, html=False, renderer=renderer).split()
    )
    if not rendered_subject:
        raise TemplateError("subject", "the subject is empty")
    if len(rendered_subject) > MAX_SUBJECT_CHARS:
        raise TemplateError("subject", f"the subject is longer than {MAX_SUBJECT_CHARS} characters")
    return Rendered(
        subject=rendered_subject,
        html=_render_part("html", html, variables, html=True, renderer=renderer),
        text=_render_part("text", text, variables, html=False, renderer=renderer),
    )


def merchant_name(client) -> str:
    return client.brand_name or client.name


def variables(
    *,
    customer_email: str,
    amount: int,
    currency: str,
    merchant: str,
    card_update_link: str,
    decline_code: str | None,
) -> dict[str, Any]:
    return {
        "customer_email": customer_email,
        "amount": money(amount, currency),
        "currency": currency.upper(),
        "amount_with_currency": money_with_code(amount, currency),
        "merchant_name": merchant,
        "card_update_link": card_update_link,
        "decline_reason": customer_reason(decline_code),
    }


def variables_for(client, recovery, card_update_link: str) -> dict[str, Any]:
    return variables(
        customer_email=recovery.customer_email or "",
        amount=recovery.amount,
        currency=recovery.currency,
        merchant=merchant_name(client),
        card_update_link=card_update_link,
        decline_code=recovery.last_decline_code or recovery.original_decline_code,
    )


# The catalogue's plain English is written for merchants ("Retry near payday"); an email to the
# customer says what happened to *their* payment and what helps, by the decline's code or category.
CUSTOMER_REASONS_BY_CODE = {
    "insufficient_funds": "Your bank declined the payment because the account didn't have enough "
                          "funds at the time.",
    "expired_card": "The card on file has expired.",
    "incorrect_number": "The card number on file isn't valid any more.",
    "invalid_expiry_date": "The expiry date on file for your card isn't valid.",
    "incorrect_cvc": "Your bank couldn't verify the card's security code.",
    "lost_card": "The card on file has been reported lost or replaced.",
    "stolen_card": "The card on file has been reported lost or replaced.",
    "card_not_supported": "The card on file can't be used for this kind of payment.",
}
CUSTOMER_REASONS = {
    "soft": "Your bank declined the payment. This is often temporary, but a different card avoids "
            "further interruptions.",
    "hard": "Your bank declined the payment and the card on file can't be charged again.",
    "auth_required": "Your bank needs you to confirm this payment before it is approved.",
    "fraud": "Your bank declined the payment. Please contact your bank, or use a different card.",
    "technical": "The payment couldn't be completed because of a temporary problem with the "
                 "payment network.",
    "unknown": "The payment didn't go through.",
}


def customer_reason(decline_code: str | None) -> str:
    """Why the payment failed, said to the customer (never the merchant's advice)."""
    decline = classify(decline_code)
    return (CUSTOMER_REASONS_BY_CODE.get(decline.code or "")
            or CUSTOMER_REASONS.get(decline.category, CUSTOMER_REASONS["unknown"]))


def sample_variables(client=None) -> dict[str, Any]:
    """What the live preview and a test send render with."""
    return variables(
        customer_email="jane.doe@example.com",
        amount=4900,
        currency="USD",
        merchant=merchant_name(client) if client is not None else "Acme Inc",
        card_update_link="https://pay.example.com/api/recovery/update-card/sample-link",
        decline_code="insufficient_funds",
    )


def preview(subject: str, html: str, text: str, client=None) -> Rendered:
    """The live preview: the template rendered with sample data (raises ``TemplateError``)."""
    return render(subject, html, text, sample_variables(client))


# The defaults every client starts from (copy one to edit it).
_HTML = """<!doctype html>
<html><body style="margin:0;padding:24px;background:#f6f7f9;font-family:Helvetica,Arial,sans-serif;
color:#1f2933">
<table role="presentation" width="100%"
style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px">
<tr><td style="padding:32px">
<p style="font-size:18px;font-weight:bold;margin:0 0 16px">{{ merchant_name }}</p>
{body}
<p style="margin:24px 0"><a href="{{ card_update_link }}" style="background:#4f46e5;color:#ffffff;
padding:12px 20px;border-radius:6px;text-decoration:none;display:inline-block">{button}</a></p>
<p style="font-size:13px;color:#616e7c">This link is personal and works once. If you have already
sorted this out, please ignore this email.</p>
<p style="font-size:13px;color:#616e7c">Thank you,<br>The {{ merchant_name }} team</p>
</td></tr></table></body></html>
"""

_TEXT = """Hi,

{body}

{button}: {{{{ card_update_link }}}}

This link is personal and works once. If you have already sorted this out, please ignore this email.

Thank you,
The {{{{ merchant_name }}}} team
"""


def _default(name: str, subject: str, body_html: str, body_text: str, button: str) -> dict[str, str]:
    return {
        "name": name,
        "subject": subject,
        "html": _HTML.replace("{body}", body_html).replace("{button}", button),
        "text": _TEXT.format(body=body_text, button=button),
    }


DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    "soft_decline": _default(
        "Payment failed: we'll try again",
        "Your {{ merchant_name }} payment of {{ amount }} didn't go through",
        "<p>We tried to charge {{ amount_with_currency }} for your {{ merchant_name }} subscription, "
        "but the payment didn't go through.</p>\n<p>We'll try again automatically. To make sure your "
        "subscription continues without interruption, you can check or update your card now.</p>",
        "We tried to charge {{ amount_with_currency }} for your {{ merchant_name }} subscription, but the\n"
        "payment didn't go through. We'll try again automatically. To make sure your subscription\n"
        "continues without interruption, you can check or update your card now.",
        "Update your card",
    ),
    "new_card": _default(
        "Payment failed: needs a new card",
        "Action needed: update your card for {{ merchant_name }}",
        "<p>Your card was declined when we tried to charge {{ amount_with_currency }} for your "
        "{{ merchant_name }} subscription, and it can't be charged again.</p>\n<p>Please add a new card "
        "to keep your subscription active. It only takes a minute.</p>",
        "Your card was declined when we tried to charge {{ amount_with_currency }} for your\n"
        "{{ merchant_name }} subscription, and it can't be charged again. Please add a new card to keep\n"
        "your subscription active. It only takes a minute.",
        "Add a new card",
    ),
    "authentication": _default(
        "Payment failed: needs authentication",
        "Please confirm your {{ merchant_name }} payment of {{ amount }}",
        "<p>Your bank asked for extra confirmation before it approves the {{ amount_with_currency }} "
        "payment for your {{ merchant_name }} subscription.</p>\n<p>Please confirm your card details "
        "so we can complete the payment.</p>",
        "Your bank asked for extra confirmation before it approves the {{ amount_with_currency }}\n"
        "payment for your {{ merchant_name }} subscription. Please confirm your card details so we can\n"
        "complete the payment.",
        "Confirm your payment",
    ),
}
