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
from .default_texts import REASONS_BY_CATEGORY, REASONS_BY_CODE, TEMPLATE_TEXTS
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
    "decline_reason": "why the payment failed, in plain words in the customer's language",
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
        "decline_reason": customer_reason(decline_code, locale),
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


def customer_reason(decline_code: str | None, locale: str = "en") -> str:
    """Why the payment failed, said to the customer in their language (never the merchant's
    advice; ``default_texts`` has the words)."""
    decline = classify(decline_code)
    language = supported_language(locale)
    by_code, by_category = REASONS_BY_CODE[language], REASONS_BY_CATEGORY[language]
    return by_code.get(decline.code or "") or by_category.get(decline.category, by_category["unknown"])


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
# leave the text part empty, so it is generated from the HTML. Merchants see and copy the English;
# a customer is sent the words of their language (``localized``).
_HTML = """{% extends "layout.html" %}
{% block preheader %}{preheader}{% endblock %}
{% block content %}
{body}
<p><a class="button" href="{{ card_update_link }}">{button}</a></p>
<p class="note">{note}</p>
<p>{signoff}</p>
{% endblock %}
"""
_NAMES = {
    "soft_decline": "Payment failed: we'll try again",
    "new_card": "Payment failed: needs a new card",
    "authentication": "Payment failed: needs authentication",
}


def _compose(name: str, words: dict, subject: str, body: str, preheader: str, button: str) -> dict[str, str]:
    html = _HTML
    for slot, value in (("{body}", body), ("{button}", button), ("{preheader}", preheader),
                        ("{note}", words["note"]), ("{signoff}", words["signoff"])):
        html = html.replace(slot, value)
    return {"name": name, "subject": subject, "html": html, "text": ""}


def _default(key: str, language: str) -> dict[str, str]:
    words = TEMPLATE_TEXTS[language]
    return _compose(_NAMES[key], words, *words[key])


# Pre-dunning (dunning/expiry.py): sent once, a few days before the card on file expires. It also
# knows ``card_expiry`` ("03/2027").
EXPIRY_REMINDER_TEMPLATE: dict[str, str] = _compose(
    "Card expiring soon", TEMPLATE_TEXTS["en"],
    "Your card for {{ merchant_name }} expires soon",
    "<p>Your card on file expires soon: the card you use for your {{ merchant_name }} subscription "
    "expires at the end of {{ card_expiry }}.</p>\n<p>Please update it now so your subscription "
    "continues without interruption. It only takes a minute.</p>",
    "Your card on file expires soon: update it in a minute.",
    "Update your card",
)


DEFAULTS_BY_LANGUAGE: dict[str, dict[str, dict[str, str]]] = {
    language: {key: _default(key, language) for key in _NAMES} for language in TEMPLATE_TEXTS
}
DEFAULT_TEMPLATES: dict[str, dict[str, str]] = DEFAULTS_BY_LANGUAGE["en"]


def localized(subject: str, html: str, text: str, locale: str) -> tuple[str, str, str]:
    """A step's template as the customer reads it: a default template sent unedited (its subject,
    HTML and text exactly the English default's) in ``locale``'s words; anything a merchant wrote
    or changed exactly as written."""
    for key, spec in DEFAULT_TEMPLATES.items():
        if (subject, html, text) == (spec["subject"], spec["html"], spec["text"]):
            own = DEFAULTS_BY_LANGUAGE[supported_language(locale)][key]
            return own["subject"], own["html"], own["text"]
    return subject, html, text
