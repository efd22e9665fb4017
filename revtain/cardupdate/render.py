"""How every card-update page is drawn: the brand (with readable button text and the support
contact), the amount due and what it is for in the customer's language, and the headers each page
sends (a strict Content-Security-Policy, no referrer as the URL holds the token, never cached).

The pages' only script of our own is ``static/cardupdate/card-page.js`` (brand detection, number
spacing, logo fallback), loaded with the response's nonce: without it the forms work the same.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app, render_template, request

from ..brand_colors import text_on
from ..formatting import day, money
from ..i18n import language, use_language
from ..models import CardUpdateLink, Client, Recovery
from . import links

DEFAULT_COLOR = "#4f46e5"


def csrf_token(link_id: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"card-update:{link_id}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(link: CardUpdateLink) -> bool:
    return hmac.compare_digest(request.form.get("csrf", ""), csrf_token(link.id))


def csp(nonce: str, sources: Mapping[str, tuple[str, ...]] | None, scripted: bool = False) -> str:
    """Our nonce'd style only; our nonce'd script on a page that has one (``scripted``); with a
    gateway's fields, its hosts too."""
    directives = ["default-src 'none'"]
    if scripted or sources:
        directives.append(
            " ".join(["script-src", f"'nonce-{nonce}'", *(sources or {}).get("script-src", ())]))
    if sources:
        directives += [
            " ".join([name, *sources[name]]) for name in ("frame-src", "child-src", "connect-src")
            if sources.get(name)
        ]
    directives += [f"style-src 'nonce-{nonce}'", "img-src https: data:", "form-action 'self'",
                   "frame-ancestors 'none'", "base-uri 'none'"]
    return "; ".join(directives)


def brand_of(client: Client | None) -> dict[str, str | None]:
    color = (client.brand_primary_color if client else None) or DEFAULT_COLOR
    logo = client.brand_logo_url if client else None
    support_url = client.brand_support_url if client else None
    return {
        "name": (client.brand_name or client.name) if client else None,
        "logo": logo if (logo or "").startswith("https://") else None,
        "color": color,
        "text": text_on(color),  # white, unless a colour saved before the AA rule needs dark text
        "support_email": client.brand_support_email if client else None,
        "support_url": support_url if (support_url or "").startswith("https://") else None,
    }


@dataclass(frozen=True)
class Due:
    """The amount the customer owes and what for; formatted when the page is drawn, in its language."""

    minor_units: int
    currency: str
    description: str | None

    @property
    def amount(self) -> str:
        return money(self.minor_units, self.currency, language())


def due(recovery: Recovery | None, *, unpaid_only: bool = True) -> Due | None:
    """What ``recovery`` asks of the customer (None once it no longer asks, with ``unpaid_only``)."""
    if recovery is None or (unpaid_only and recovery.status not in links.REOPENABLE):
        return None
    return Due(recovery.amount, recovery.currency, recovery.description)


@dataclass(frozen=True)
class Day:
    """A date shown to the customer, in the page's language when drawn (\"March 16, 2026\")."""

    value: date

    def __str__(self) -> str:
        return day(self.value, language(), "long")


def today_text(when: datetime) -> Day:
    return Day(when.date())


def page(template: str, status: int, client: Client | None = None, *, recovery: Recovery | None = None,
         sources: Mapping[str, tuple[str, ...]] | None = None, **context):
    """Render ``cardupdate/<template>`` in the customer's language (the recovery's
    ``customerLocale``, else the browser's)."""
    use_language(recovery.customer_locale if recovery is not None else None)
    nonce = secrets.token_urlsafe(16)
    brand = brand_of(client)
    response = current_app.make_response((render_template(
        f"cardupdate/{template}", brand=brand, nonce=nonce, lang=language(), **context,
    ), status))
    # base.html loads card-page.js for a form (``script``) or a logo that may fail to load
    scripted = bool(context.get("script") or brand["logo"])
    response.headers["Content-Security-Policy"] = csp(nonce, sources, scripted)
    response.headers["Content-Language"] = language()
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
