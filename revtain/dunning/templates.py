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
from ..formatting import money, money_with_code, supported_language
from .layout import brand_color, inline_css, layout_text, text_color_on, text_from_html
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
    "brand_logo_url": "your logo's address (Settings), or empty",
    "brand_color": 'your brand colour ("#4f46e5")',
    "brand_text_color": "white or near-black, whichever reads on your brand colour",
    "support_email": "the address customers write to for help (Settings), or empty",
    "unsubscribe_url": "the customer's link to stop payment reminders",
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
    first that fails. Previews, saves, test sends and real sends all render through here. The HTML
    comes back with its CSS inlined; an empty text part is generated from the HTML (``layout``)."""
    renderer = Renderer()
    rendered_subject = " ".join(
        _render_part("subject", subject, variables, html=False, renderer=renderer).split()
    )
    if not rendered_subject:
        raise TemplateError("subject", "the subject is empty")
    if len(rendered_subject) > MAX_SUBJECT_CHARS:
        raise TemplateError("subject", f"the subject is longer than {MAX_SUBJECT_CHARS} characters")
    rendered_html = _render_part("html", html, variables, html=True, renderer=renderer)
    if text.strip():
        rendered_text = _render_part("text", text, variables, html=False, renderer=renderer)
    else:  # no text part written: generated from the HTML, so the two never drift apart
        rendered_text = text_from_html(rendered_html)
    return Rendered(subject=rendered_subject, html=inline_css(rendered_html), text=rendered_text)


MAX_SMS_CHARS = 480  # three concatenated segments


def render_sms(subject: str, variables: dict[str, Any]) -> str:
    """An SMS step's text: its template's subject, then the card-update link (raises ``TemplateError``)."""
    text = " ".join(_render_part("subject", subject, variables, html=False, renderer=Renderer()).split())
    if not text:
        raise TemplateError("subject", "the subject is empty")
    link = variables["card_update_link"]
    return f"{text[:MAX_SMS_CHARS - len(link) - 1]} {link}"


def merchant_name(client) -> str:
    return client.brand_name or client.name


def sender_name(client) -> str:
    """The From name of dunning emails: the merchant's sender name, else its brand name."""
    return client.sender_name or merchant_name(client)


def support_email(client) -> str:
    """The support contact in the footer: the branding's own (``brand_support_email``, once clients
    have that setting) or the merchant's reply-to address."""
    return getattr(client, "brand_support_email", None) or client.sender_reply_to or ""


def branding(client) -> dict[str, Any]:
    color = brand_color(client.brand_primary_color if client is not None else None)
    return {
        "merchant_name": merchant_name(client) if client is not None else "Acme Inc",
        "brand_logo_url": (client.brand_logo_url or "") if client is not None else "",
        "brand_color": color,
        "brand_text_color": text_color_on(color),
        "support_email": support_email(client) if client is not None else "",
    }


def variables(
    *,
    customer_email: str,
    amount: int,
    currency: str,
    card_update_link: str,
    decline_code: str | None,
    brand: dict[str, Any],
    unsubscribe_url: str,
    locale: str = "en",
    open_pixel_url: str = "",
) -> dict[str, Any]:
    return {
        **brand,
        "customer_email": customer_email,
        "amount": money(amount, currency, locale),
        "currency": currency.upper(),
        "amount_with_currency": money_with_code(amount, currency, locale),
        "card_update_link": card_update_link,
        "decline_reason": customer_reason(decline_code),
        "unsubscribe_url": unsubscribe_url,
        "open_pixel_url": open_pixel_url,
        "lang": locale,
        "layout_text": layout_text(locale),
    }


def variables_for(client, recovery, card_update_link: str, unsubscribe_url: str,
                  open_pixel_url: str = "") -> dict[str, Any]:
    return variables(
        customer_email=recovery.customer_email or "",
        amount=recovery.amount,
        currency=recovery.currency,
        card_update_link=card_update_link,
        decline_code=recovery.last_decline_code or recovery.original_decline_code,
        brand=branding(client),
        unsubscribe_url=unsubscribe_url,
        locale=customer_locale(recovery),
        open_pixel_url=open_pixel_url,
    )


def customer_locale(recovery) -> str:
    """The recovery's ``customer_locale`` (``customerLocale`` on execute) when recoveries have
    it, as a supported language; else English."""
    return supported_language(getattr(recovery, "customer_locale", None))


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
        card_update_link="https://pay.example.com/api/recovery/update-card/sample-link",
        decline_code="insufficient_funds",
        brand=branding(client),
        unsubscribe_url="https://pay.example.com/api/dunning/unsubscribe/sample",
    )


def preview(subject: str, html: str, text: str, client=None) -> Rendered:
    """The live preview: the template rendered with sample data (raises ``TemplateError``)."""
    return render(subject, html, text, sample_variables(client))


# The defaults every client starts from (copy one to edit it): they extend the branded layout and
# leave the text part empty, so it is generated from the HTML.
_HTML = """{% extends "layout.html" %}
{% block preheader %}{preheader}{% endblock %}
{% block content %}
{body}
<p><a class="button" href="{{ card_update_link }}">{button}</a></p>
<p class="note">This link is personal and works once. If you have already sorted this out, please
ignore this email.</p>
<p>Thank you,<br>The {{ merchant_name }} team</p>
{% endblock %}
"""


def _default(name: str, subject: str, body_html: str, preheader: str, button: str) -> dict[str, str]:
    html = _HTML.replace("{body}", body_html).replace("{button}", button).replace("{preheader}", preheader)
    return {"name": name, "subject": subject, "html": html, "text": ""}


# Pre-dunning (dunning/expiry.py): sent once, a few days before the card on file expires. It also
# knows ``card_expiry`` ("03/2027").
EXPIRY_REMINDER_TEMPLATE: dict[str, str] = _default(
    "Card expiring soon",
    "Your card for {{ merchant_name }} expires soon",
    "<p>Your card on file expires soon: the card you use for your {{ merchant_name }} subscription "
    "expires at the end of {{ card_expiry }}.</p>\n<p>Please update it now so your subscription "
    "continues without interruption. It only takes a minute.</p>",
    "Your card on file expires soon: update it in a minute.",
    "Update your card",
)

DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    "soft_decline": _default(
        "Payment failed: we'll try again",
        "Your {{ merchant_name }} payment of {{ amount }} didn't go through",
        "<p>We tried to charge {{ amount_with_currency }} for your {{ merchant_name }} subscription, "
        "but the payment didn't go through.</p>\n<p>We'll try again automatically. To make sure your "
        "subscription continues without interruption, you can check or update your card now.</p>",
        "We'll try again automatically. You can check your card now.",
        "Update your card",
    ),
    "new_card": _default(
        "Payment failed: needs a new card",
        "Action needed: update your card for {{ merchant_name }}",
        "<p>Your card was declined when we tried to charge {{ amount_with_currency }} for your "
        "{{ merchant_name }} subscription, and it can't be charged again.</p>\n<p>Please add a new card "
        "to keep your subscription active. It only takes a minute.</p>",
        "Your card can't be charged again: add a new one in a minute.",
        "Add a new card",
    ),
    "authentication": _default(
        "Payment failed: needs authentication",
        "Please confirm your {{ merchant_name }} payment of {{ amount }}",
        "<p>Your bank asked for extra confirmation before it approves the {{ amount_with_currency }} "
        "payment for your {{ merchant_name }} subscription.</p>\n<p>Please confirm your card details "
        "so we can complete the payment.</p>",
        "Your bank needs you to confirm this payment.",
        "Confirm your payment",
    ),
}
